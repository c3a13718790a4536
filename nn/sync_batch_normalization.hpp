// Synchronized batch normalization (ChainerMN's MultiNodeBatchNormalization, PyTorch's
// SyncBatchNorm): in data-parallel training each rank of `comm` holds a part of the batch, and
// this BN normalizes with the statistics of the whole batch, forward and backward, so the ranks
// together compute what one process's BatchNormalization computes on the whole batch. The
// running statistics come out the same on every rank. gamma's and beta's gradients stay each
// rank's own, for optim::DataParallel to average. Each training forward makes two small
// allreduces over comm (the sums, then the centred squares; C + 1 and C doubles) and backward
// one (2C doubles), so every rank of comm must run the same BN layers in the same order.
#pragma once

#include "dist/communicator.hpp"
#include "nn/batch_normalization.hpp"

namespace prism::nn {

// `config` with its sum_over_batch set to an allreduce over comm.
BatchNormConfig synchronized(const dist::Communicator& comm, BatchNormConfig config = {});

class SyncBatchNormalization : public BatchNormalization {
 public:
  SyncBatchNormalization(const dist::Communicator& comm, int64_t size, BatchNormConfig config = {})
      : BatchNormalization(size, synchronized(comm, std::move(config))) {}
  // The channel-sharded form (see BatchNormalization): comm is the data-parallel one, across
  // the ranks that hold the same channels of different parts of the batch.
  SyncBatchNormalization(const dist::Communicator& comm, ChannelShard shard, int64_t size,
                         BatchNormConfig config = {})
      : BatchNormalization(shard, size, synchronized(comm, std::move(config))) {}
};

}  // namespace prism::nn

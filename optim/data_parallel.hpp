// Data parallelism (ChainerMN's create_multi_node_optimizer, PyTorch's DistributedDataParallel):
// every rank of `comm` trains the same model on its own part of the batch, and the gradients are
// averaged over the ranks before each update, so every rank makes the same update, the one a
// single process makes on the whole batch when the parts are of equal size (the average is
// uniform: a rank's loss is a mean over its part).
//
//   optim::MomentumSGD optimizer(model.named_parameters(), 0.01f);
//   optim::DataParallel data_parallel(comm, optimizer);  // broadcasts rank 0's parameters
//   for (...) {
//     model.zero_grad();
//     loss(model(x_of_this_rank), t_of_this_rank).backward();  // buckets start on the way
//     optimizer.update();  // waits for the buckets, averages, then the optimizer's rules
//   }
//
// Attaching adds a hook to the optimizer (build DataParallel before adding other hooks, so
// that hooks which read the gradients, e.g. clipping, see the averaged ones) and a gradient
// hook to each parameter (Variable::set_grad_hook; a parameter that has one already is refused:
// one DataParallel per set of parameters). The parameters are split into buckets in reverse
// order, the order in which backward produces their gradients: a bucket takes parameters until
// it holds bucket_bytes or more. A bucket's allreduce (dist::AllreduceInFlight) starts
// as soon as backward has made all of its gradients, and buckets start in order on every rank
// (an MPI rule), so communication overlaps the rest of backward. Each gradient hook also lets
// MPI move what is in flight (MPICH moves data only inside MPI calls).
//
// The rules, as DDP's without find_unused_parameters:
//  - every parameter that requires grad when DataParallel is made gets a gradient from each
//    backward, on every rank; one that did not by update() is an error that names it;
//  - one backward per update: a second backward before update() is an error (its gradients
//    would arrive after their bucket has left);
//  - buffers (BN's running statistics) are not averaged: with nn::SyncBatchNormalization they
//    are the same on every rank anyway.
// Once DataParallel is destroyed, the optimizer's updates are local again (its hook stays in
// the optimizer, doing nothing).
#pragma once

#include <memory>

#include "dist/communicator.hpp"
#include "optim/optimizer.hpp"

namespace prism::optim {

class DataParallel {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;  // PyTorch DDP's default

  // Broadcasts rank 0's parameters to every rank (collective; on one rank nothing, and no MPI
  // is needed), then attaches. bucket_bytes >= 1.
  DataParallel(dist::Communicator comm, Optimizer& optimizer,
               int64_t bucket_bytes = kDefaultBucketBytes);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  const dist::Communicator& comm() const;
  // The buckets, as counts of parameters, in the order they are reduced.
  std::vector<int64_t> bucket_sizes() const;
  // How many buckets' allreduces have started since the last update().
  int64_t buckets_started() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace prism::optim

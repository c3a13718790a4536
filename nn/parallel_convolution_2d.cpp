#include "nn/parallel_convolution_2d.hpp"

#include "ops/shape.hpp"

namespace prism::nn {

namespace {

// Checked before the base class is built, so a bad partition fails with its own message.
int64_t checked_count(const dist::Communicator& comm, int64_t channels, const char* what) {
  PRISM_CHECK(comm.size() <= channels,
              "ParallelConvolution2D: " << comm.size() << " ranks but only " << channels << " "
                                        << what << " channels: every rank needs at least one "
                                        << "(use a Convolution2D for this layer)");
  return ParallelConvolution2D::channel_count(channels, comm.size(), comm.rank());
}

// The local weights' generator: one draw of global_rng() on every rank, mixed with the rank.
Rng& partition_rng(const dist::Communicator& comm) {
  thread_local Rng rng;
  rng = Rng(global_rng().next_u64() ^
            (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(comm.rank() + 1)));
  return rng;
}

}  // namespace

int64_t ParallelConvolution2D::channel_count(int64_t channels, int size, int rank) {
  return channels / size + (rank < channels % size ? 1 : 0);
}

std::vector<int64_t> ParallelConvolution2D::input_channels(int64_t channels, int size, int rank) {
  std::vector<int64_t> out;
  for (int64_t c = rank; c < channels; c += size)
    out.push_back(c);
  return out;
}

int64_t ParallelConvolution2D::output_offset(int64_t channels, int size, int rank) {
  int64_t offset = 0;
  for (int j = 0; j < rank; ++j)
    offset += channel_count(channels, size, j);
  return offset;
}

ParallelConvolution2D::ParallelConvolution2D(const dist::Communicator& comm, int64_t in_channels,
                                             int64_t out_channels, Size2 ksize, Size2 stride,
                                             Size2 pad, bool nobias, dist::GradRule rule,
                                             Layout output)
    : Convolution2D(checked_count(comm, in_channels, "input"),
                    checked_count(comm, out_channels, "output"), ksize, stride, pad, nobias,
                    partition_rng(comm)),
      comm_(comm),
      rule_(rule),
      output_(output),
      in_channels_(in_channels),
      out_channels_(out_channels),
      inputs_(input_channels(in_channels, comm_.size(), comm_.rank())) {
  // Rank i's block [offset_i, offset_i + K_i) holds, of rank j's channels j, j + P, ..., those
  // from the first c >= offset_i with c % P == j; they are consecutive in j's shard, and the
  // blocks lie in rank order, so what j receives from ranks 0, 1, ... fills its shard in order.
  const int p = comm_.size(), rank = comm_.rank();
  auto run = [&](int i, int j) {  // rank i's output channels that rank j reads, in i's block
    const int64_t offset = output_offset(out_channels, p, i);
    const int64_t first = offset + ((j - offset) % p + p) % p;
    const int64_t end = offset + channel_count(out_channels, p, i);
    return dist::ChannelRun{first - offset, first < end ? (end - 1 - first) / p + 1 : 0, p};
  };
  int64_t at = 0;  // where rank i's channels start in this rank's shard
  for (int j = 0; j < p; ++j) {
    send_.push_back(run(rank, j));
    const dist::ChannelRun from = run(j, rank);
    recv_.push_back({at, from.count, 1});
    at += from.count;
  }
}

Variable ParallelConvolution2D::forward(const Variable& x) {
  const int p = comm_.size(), rank = comm_.rank();
  const ChannelShard mine = channel_shard(in_channels_, p, rank);
  PRISM_CHECK(x.defined() && x.data().dim() == 4, "ParallelConvolution2D: expected x [N, "
                                                      << in_channels_ << ", H, W], got "
                                                      << shape_string(x));
  PRISM_CHECK(!x.shard().sharded() || x.shard() == mine,
              "ParallelConvolution2D: rank " << rank << " reads " << to_string(mine)
                                             << ", but x holds " << to_string(x.shard()));
  PRISM_CHECK(x.shard().sharded() || x.shape()[1] == in_channels_,
              "ParallelConvolution2D: expected x [N, " << in_channels_ << ", H, W], got "
                                                       << shape_string(x));
  if (p == 1) return Convolution2D::forward(x);
  Variable local;
  if (x.shard().sharded()) {
    local = with_channel_shard(x, ChannelShard{});  // its channels are this layer's inputs
  } else {
    const bool exact = rule_ == dist::GradRule::exact;
    local = select_channels(exact ? dist::functions::sum_gradients(comm_, x) : x, inputs_);
  }
  const Variable y = Convolution2D::forward(local);
  if (output_ == Layout::sharded) {
    const ChannelShard out = channel_shard(out_channels_, p, rank);
    return dist::functions::exchange_channels(comm_, y, send_, recv_, out.count(), out);
  }
  std::vector<int64_t> extents;  // the partition: every rank's output channels
  for (int r = 0; r < p; ++r)
    extents.push_back(channel_count(out_channels_, p, r));
  return dist::functions::allgather_concat(comm_, y, 1, rule_, std::move(extents));
}

}  // namespace prism::nn

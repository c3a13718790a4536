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
                                             Size2 pad, bool nobias, dist::GradRule rule)
    : Convolution2D(checked_count(comm, in_channels, "input"),
                    checked_count(comm, out_channels, "output"), ksize, stride, pad, nobias,
                    partition_rng(comm)),
      comm_(comm),
      rule_(rule),
      in_channels_(in_channels),
      out_channels_(out_channels),
      inputs_(input_channels(in_channels, comm_.size(), comm_.rank())) {}

Variable ParallelConvolution2D::forward(const Variable& x) {
  PRISM_CHECK(x.defined() && x.data().dim() == 4 && x.shape()[1] == in_channels_,
              "ParallelConvolution2D: expected x [N, " << in_channels_ << ", H, W], got "
                                                       << shape_string(x));
  if (comm_.size() == 1) return Convolution2D::forward(x);
  const bool exact = rule_ == dist::GradRule::exact;
  const Variable shared = exact ? dist::functions::sum_gradients(comm_, x) : x;
  const Variable local_out = Convolution2D::forward(select_channels(shared, inputs_));
  std::vector<int64_t> extents;  // the partition: every rank's output channels
  for (int r = 0; r < comm_.size(); ++r)
    extents.push_back(channel_count(out_channels_, comm_.size(), r));
  return dist::functions::allgather_concat(comm_, local_out, 1, rule_, std::move(extents));
}

}  // namespace prism::nn

// Channel-wise model-parallel convolution: ChainerMN's ParallelConvolution2D (the seed's
// "Example 3"), partitioned exactly as there. With P = comm.size() and rank r:
//   - rank r owns K / P (+1 when r < K % P) output channels; after the allgather the blocks lie
//     in rank order (rank 0's first);
//   - rank r reads input channels r, r + P, r + 2P, ... < C;
//   - forward: select those channels, convolve with the local W [K_r, |I_r|, k, k] (and b), then
//     allgather the outputs and concatenate them on axis 1: every rank gets the whole layer.
// Together the ranks compute a convolution whose K x C weight holds each rank's W in its (output
// block x its input channels) cells and zeros elsewhere.
//
// Gradients: by default the allgather follows ChainerMN (GatherGrad::sum_over_ranks), the
// gradient of the sum of all ranks' losses. It is exact where the layer's output feeds another
// parallel layer, whose input gradients are partial per rank. Where the output feeds layers
// that are the same on every rank up to one replicated loss, every rank's gradient is the same
// and the sum is P times it: GatherGrad::local gives that layer the exact gradient of the one
// loss (see dist/functions.hpp).
#pragma once

#include <vector>

#include "dist/communicator.hpp"
#include "dist/functions.hpp"
#include "nn/convolution_2d.hpp"

namespace prism::nn {

class ParallelConvolution2D : public Convolution2D {
 public:
  // Convolution2D's arguments after the communicator. P > in_channels or P > out_channels is
  // an error (a rank would own no channel; use a Convolution2D there, as the seed's model does).
  // The local weight is LeCun normal with the local fan-in, drawn from a generator seeded by one
  // draw of global_rng() and the rank: ranks get different weights, and global_rng() advances
  // by the same amount on every rank (so replicated dropout stays in step).
  ParallelConvolution2D(dist::Communicator comm, int64_t in_channels, int64_t out_channels,
                        int64_t ksize, int64_t stride = 1, int64_t pad = 0, bool nobias = false,
                        dist::GatherGrad mode = dist::GatherGrad::sum_over_ranks);

  // x [N, in_channels, H, W] (the same on every rank) -> [N, out_channels, Ho, Wo] on every rank.
  Variable forward(const Variable& x) override;

  // The partition, as pure functions of the sizes.
  static int64_t channel_count(int64_t channels, int size, int rank);
  static std::vector<int64_t> input_channels(int64_t channels, int size, int rank);
  static int64_t output_offset(int64_t channels, int size, int rank);

  const std::vector<int64_t>& local_input_channels() const { return inputs_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }

 private:
  dist::Communicator comm_;
  dist::GatherGrad mode_;
  int64_t in_channels_, out_channels_;
  std::vector<int64_t> inputs_;
};

}  // namespace prism::nn

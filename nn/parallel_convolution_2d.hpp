// Channel-wise model-parallel convolution, in one of two partitions (docs/parallelism.md).
//
// Partition::seed is ChainerMN's ParallelConvolution2D (the seed's "Example 3"), partitioned
// exactly as there. With P = comm.size() and rank r:
//   - rank r owns K / P (+1 when r < K % P) output channels; after the allgather the blocks lie
//     in rank order (rank 0's first);
//   - rank r reads input channels r, r + P, r + 2P, ... < C;
//   - forward: select those channels, convolve with the local W [K_r, |I_r|, k, k] (and b), then
//     allgather the outputs and concatenate them on axis 1: every rank gets the whole layer
//     (Layout::gathered, the seed's dataflow);
//   - or, Layout::sharded, send each rank only the channels the next parallel convolution reads
//     there: rank r receives channels r, r + P, ... of the output (strided_shard(K, P, r)) by one
//     MPI_Alltoallw, 1/P of the tensor. A sharded input (x.shard() == strided_shard(C, P, r))
//     is convolved as it is; the reverse exchange is then the exact gradient, with no sum over
//     ranks, since each channel is read on one rank only. Per-channel layers (BN, ReLU,
//     dropout, pooling) run on the shard; dist::functions::gather_channels assembles the
//     channels where a layer needs them all. See docs/parallelism.md.
// Together the ranks compute a convolution whose K x C weight holds each rank's W in its (output
// block x its input channels) cells and zeros elsewhere.
//
// Gradients (dist::GradRule). GradRule::exact (the default) gives every parameter, on every rank,
// the gradient of the one loss that all ranks compute, as the single-process convolution would: the
// input passes dist::functions::sum_gradients (its gradient is summed over ranks in backward) and
// the allgather returns each rank its own slice's gradient (the gather's own GradRule::exact). So
// the layers around it, replicated on every rank, get the same gradients everywhere and stay equal.
// GradRule::chainermn is the seed's rule instead: no sum at the input and ChainerMN's
// allgather backward (the gather's GradRule::chainermn), the gradient of the sum of the ranks'
// losses. With a replicated model after the layer it scales the parallel weights' gradients
// by P, and the replicated layers between two parallel ones see only partial gradients, so
// their copies drift apart (check_replicated fails); it is kept for comparison.
//
// Partition::filter is the ordinary convolution, split (LBANN/Distconv's filter parallelism,
// Megatron's column-parallel layer): the ranks together hold exactly one K x C weight, the one a
// Convolution2D(C, K) would draw from global_rng(), and compute exactly its output. Activations
// are sharded in contiguous blocks, block_shard(C, P, r). Where the ranks meet is per layer:
//   - Stationary::output (Y-stationary): rank r owns filters [off_r, off_r + K_r) over every
//     input channel, W [K_r, C, kh, kw] and b [K_r]. Forward allgathers a sharded x (a
//     replicated one is there already), backward reduce-scatters dx;
//   - Stationary::input (X-stationary): rank r owns every filter over its input block, W [K,
//     C_r, kh, kw], and b [K_r]. It convolves its block of x into a partial output of all K
//     channels, and a reduce-scatter sums them into each rank's block; backward allgathers dy;
//   - Stationary::automatic picks the one that moves fewer bytes: x (C x H x W a image) against
//     y (about K x H x W / (stride.h x stride.w)); on a tie, output.
// The output is this rank's block, block_shard(K, P, r) (Layout::sharded), or every channel
// (Layout::gathered, the blocks in rank order). The rule applies as for the seed partition,
// to a replicated input and to the gather; the exchanges of a sharded input are exact.
#pragma once

#include <vector>

#include "dist/communicator.hpp"
#include "dist/functions.hpp"
#include "nn/convolution_2d.hpp"
#include "nn/partition.hpp"

namespace prism::nn {

// The filter partition's dataflow (see above).
enum class Stationary {
  automatic,
  output,  // Y-stationary: allgather x, reduce-scatter dx
  input,   // X-stationary: reduce-scatter the partial outputs, allgather dy
};

class ParallelConvolution2D : public Convolution2D {
 public:
  // Convolution2D's arguments after the communicator. A rank that would own no channel is an
  // error: P > out_channels, or P > in_channels for the seed partition and the X-stationary
  // filter partition (use a Convolution2D there, as the seed's model does).
  // Seed: the local weight is LeCun normal with the local fan-in, drawn from a generator seeded
  // by one draw of global_rng() and the rank: ranks get different weights. Filter: every rank
  // draws the whole layer's weight from global_rng() and keeps its slice. Either way
  // global_rng() advances by the same amount on every rank (so replicated dropout stays in step).
  ParallelConvolution2D(const dist::Communicator& comm, int64_t in_channels, int64_t out_channels,
                        Size2 ksize, Size2 stride = 1, Size2 pad = 0, bool nobias = false,
                        dist::GradRule rule = dist::GradRule::exact,
                        Layout output = Layout::gathered, Partition partition = Partition::seed,
                        Stationary stationary = Stationary::automatic);

  // x [N, in_channels, H, W] (the same on every rank), or this rank's shard of it
  // (strided_shard(in_channels, P, rank) for the seed partition, block_shard for the filter one)
  // -> [N, out_channels, Ho, Wo] on every rank (gathered), or this rank's shard of it.
  // The rule applies to a replicated input and to the gather; a shard's gradient is exact.
  Variable forward(const Variable& x) override;
  bool partitioned() const override { return true; }
  // The filter partition's W and b are slices of the full layer's (the seed's are not).
  std::vector<EntrySlice> entry_slices() const override;

  // The partition, as pure functions of the sizes: a rank's block of channels (both
  // partitions), and the seed's input channels.
  static int64_t channel_count(int64_t channels, int size, int rank);
  static std::vector<int64_t> input_channels(int64_t channels, int size, int rank);
  static int64_t output_offset(int64_t channels, int size, int rank);
  // The filter partition's choice for Stationary::automatic.
  static Stationary automatic_stationary(int64_t in_channels, int64_t out_channels, Size2 stride);

  // The input channels this rank convolves (for the filter partition: all, or its block).
  const std::vector<int64_t>& local_input_channels() const { return inputs_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  Layout output_layout() const { return output_; }
  Partition partition() const { return partition_; }
  Stationary stationary() const { return stationary_; }  // never automatic; output for seed
  // The shard of the input that this layer convolves as it is (any other is refused), and that
  // of its output under Layout::sharded.
  ChannelShard input_shard() const;
  ChannelShard output_shard() const;

  // Layout::sharded: the batch is convolved and exchanged in this many chunks of images (at
  // most one per image), so that one chunk's exchange overlaps the next chunk's work. 1, the
  // default, sends the whole output after the whole convolution: on the 2-core machine where
  // this was measured, more chunks bought nothing (docs/parallelism.md, "Overlap").
  void set_chunks(int64_t chunks);
  int64_t chunks() const { return chunks_; }

 private:
  dist::Communicator comm_;
  dist::GradRule rule_;
  Layout output_;
  Partition partition_;
  Stationary stationary_;
  int64_t in_channels_, out_channels_;
  std::vector<int64_t> inputs_;
  // Layout::sharded: what this rank's output block sends to each rank, and where what each
  // rank sends lands in this rank's shard.
  std::vector<dist::ChannelRun> send_, recv_;
  int64_t chunks_ = 1;

  Variable convolve_and_exchange(const Variable& x);
  Variable forward_filter(const Variable& x);
};

}  // namespace prism::nn

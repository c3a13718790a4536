// VGG16, the model of the seed's example for 32x32 inputs (ChainerMN's channel-parallel VGG):
// 13 blocks of 3x3 convolution (no bias) + batch normalization + ReLU, each followed by
// dropout (0.3 after the first, 0.4 after the others) or a 2x2 max pooling (5 of them), then
// dropout 0.5, fc 512 (no bias) + batch normalization + ReLU, dropout 0.5, fc to the classes.
//
// A block's convolution is a ParallelConvolution2D when comm.size() <= its input channels and
// a plain Convolution2D otherwise (as the seed's model does, e.g. the first block on RGB input
// with 4 ranks). On one rank it is the serial VGG16.
//
// The layout (nn::Layout) says where activations live between the convolutions:
//   - sharded (the default): rank r holds channels r, r + P, ... of every block's output, the
//     ones its next convolution reads; BN (its parameters and statistics partitioned), ReLU,
//     dropout and pooling run on those channels only, and the channels are gathered once,
//     before the classifier. A first block that is a plain Convolution2D is computed whole on
//     every rank and sliced;
//   - gathered: the seed's dataflow, every rank holds every channel after every convolution.
// Both compute the same function with the same parameters (tests/mpi/test_sharded.cpp).
//
// The partition (nn::Partition) says how each convolution is split:
//   - seed (the default): ChainerMN's, a grouped convolution plus a shuffle, so the model
//     differs with P (on one rank it is the serial VGG16);
//   - filter: every block's convolution is the ordinary one split over the ranks (its weights
//     those a serial VGG16 built from the same seed draws), activations sharded in contiguous
//     blocks: at every P the serial VGG16's function (tests/mpi/test_filter_parallel.cpp).
#pragma once

#include "dist/communicator.hpp"
#include "nn/partition.hpp"
#include "nn/sequential.hpp"

namespace prism::nn {

class VGG16 : public Module {
 public:
  // `image`: the input's height and width, multiples of 32 (the five poolings halve them; the
  // first fc reads 512 * (h / 32) * (w / 32) values).
  // `data`: with data parallelism (optim::DataParallel, dist::Grid), the ranks that train the
  // same model on the other parts of the batch; every BN is then synchronized over them
  // (nn::SyncBatchNormalization). Default: this process's batch is the whole batch.
  VGG16(const dist::Communicator& comm, int64_t in_channels = 3, int64_t classes = 10,
        Layout layout = Layout::sharded, Size2 image = 32, Partition partition = Partition::seed,
        const dist::Communicator& data = {});

  // x [N, in_channels, image.h, image.w] -> logits [N, classes]
  Variable forward(const Variable& x) override;

 private:
  std::shared_ptr<Sequential> net_;
  Size2 image_;
};

}  // namespace prism::nn

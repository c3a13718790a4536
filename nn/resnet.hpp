// ResNet for 32x32 images (He et al. 2016, section 4.2: ResNet-20, 32, 44, 56, 110): a 3x3
// convolution to 16 channels, then three stages of n basic blocks on 16, 32 and 64 channels
// (depth = 6 n + 2), the first block of the second and third stage halving the image with
// stride 2, then global average pooling and a linear layer to the classes.
//
// A basic block: 3x3 conv, BN, ReLU, 3x3 conv, BN, plus the shortcut, then ReLU. The shortcut is
// the identity, or where the block changes the shape, a 1x1 convolution with the block's stride
// and a BN (the paper's option B). Convolutions have no bias (a BN follows each).
//
//   nn::Classifier model(std::make_shared<nn::ResNet>(20));      // RGB, 10 classes
//   nn::Classifier mnist(std::make_shared<nn::ResNet>(20, 1));   // one channel in
//
// Channel-parallel over a communicator of P > 1 ranks: every convolution is the filter
// partition's (nn::Partition::filter: the serial layer's weights, split by filters) with sharded
// outputs, so rank r holds the contiguous block block_shard(C, P, r) of every activation. BN and
// ReLU run on the block; a residual add meets two branches sharded the same way (the identity
// shortcut passes the block's input, sharded as the block's output is, and the 1x1 shortcut
// is a filter-partitioned convolution of its own); the 64 channels are gathered once, before
// the global pooling. Built from the same seed, it computes the serial ResNet's function with
// the serial ResNet's parameters, sliced (tests/mpi/test_resnet_parallel.cpp). P may be at most
// 16, the first stage's channels. See docs/parallelism.md.
#pragma once

#include "dist/communicator.hpp"
#include "nn/batch_normalization.hpp"
#include "nn/convolution_2d.hpp"
#include "nn/linear.hpp"
#include "nn/sequential.hpp"

namespace prism::nn {

class BasicBlock : public Module {
 public:
  // Serial, or channel-parallel over `comm` when it has more than one rank (see above).
  BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride,
             const dist::Communicator& comm = {});
  // x [N, in, H, W] -> [N, out, H / stride, W / stride] (rounded up); or their blocks of
  // channels, channel-parallel.
  Variable forward(const Variable& x) override;

 private:
  std::shared_ptr<Convolution2D> conv1_, conv2_, shortcut_conv_;  // the last: none for identity
  std::shared_ptr<BatchNormalization> bn1_, bn2_, shortcut_bn_;
};

class ResNet : public Module {
 public:
  // depth = 6 n + 2 with n >= 1 (20, 32, 44, 56, 110, ...). Serial, or channel-parallel over
  // `comm` when it has more than one rank (see above; x and the logits are whole on every rank).
  explicit ResNet(int64_t depth, int64_t in_channels = 3, int64_t classes = 10,
                  const dist::Communicator& comm = {});

  // x [N, in_channels, H, W] (32x32 as in the paper; any size works) -> logits [N, classes]
  Variable forward(const Variable& x) override;

 private:
  std::shared_ptr<Sequential> net_;
};

}  // namespace prism::nn

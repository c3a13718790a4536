// VGG16 for 32x32 inputs, the model of the seed's example (ChainerMN's channel-parallel VGG):
// 13 blocks of 3x3 convolution (no bias) + batch normalization + ReLU, each followed by
// dropout (0.3 after the first, 0.4 after the others) or a 2x2 max pooling (5 of them), then
// dropout 0.5, fc 512 (no bias) + batch normalization + ReLU, dropout 0.5, fc to the classes.
//
// A block's convolution is a ParallelConvolution2D when comm.size() <= its input channels and
// a plain Convolution2D otherwise (as the seed's model does, e.g. the first block on RGB input
// with 4 ranks). On one rank it is the serial VGG16.
#pragma once

#include "dist/communicator.hpp"
#include "nn/sequential.hpp"

namespace prism::nn {

class VGG16 : public Module {
 public:
  VGG16(const dist::Communicator& comm, int64_t in_channels = 3, int64_t classes = 10);

  // x [N, in_channels, 32, 32] -> logits [N, classes]
  Variable forward(const Variable& x) override;

 private:
  std::shared_ptr<Sequential> net_;
};

}  // namespace prism::nn

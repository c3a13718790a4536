#include "nn/resnet.hpp"

#include "ops/activation.hpp"
#include "ops/pooling.hpp"

namespace prism::nn {

BasicBlock::BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride) {
  conv1_ = register_module("conv1", std::make_shared<Convolution2D>(in_channels, out_channels, 3,
                                                                    stride, 1, /*nobias=*/true));
  bn1_ = register_module(
      "bn1", std::make_shared<BatchNormalization>(out_channels, BatchNormConfig{.relu = true}));
  conv2_ = register_module("conv2", std::make_shared<Convolution2D>(out_channels, out_channels, 3,
                                                                    1, 1, /*nobias=*/true));
  bn2_ = register_module("bn2", std::make_shared<BatchNormalization>(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    shortcut_conv_ = register_module(
        "shortcut_conv",
        std::make_shared<Convolution2D>(in_channels, out_channels, 1, stride, 0, /*nobias=*/true));
    shortcut_bn_ =
        register_module("shortcut_bn", std::make_shared<BatchNormalization>(out_channels));
  }
}

Variable BasicBlock::forward(const Variable& x) {
  const Variable y = (*bn2_)((*conv2_)((*bn1_)((*conv1_)(x))));
  const Variable shortcut = shortcut_conv_ ? (*shortcut_bn_)((*shortcut_conv_)(x)) : x;
  return add_relu(y, shortcut);
}

ResNet::ResNet(int64_t depth, int64_t in_channels, int64_t classes) {
  PRISM_CHECK(
      depth >= 8 && (depth - 2) % 6 == 0,
      "ResNet: depth must be 6 n + 2 with n >= 1 (20, 32, 44, 56, 110, ...), got " << depth);
  PRISM_CHECK(in_channels > 0 && classes > 0, "ResNet: needs positive in_channels and classes, got "
                                                  << in_channels << " and " << classes);
  const int64_t blocks = (depth - 2) / 6;
  net_ = register_module("net", std::make_shared<Sequential>());
  net_->add(std::make_shared<Convolution2D>(in_channels, 16, 3, 1, 1, /*nobias=*/true));
  net_->add(std::make_shared<BatchNormalization>(16, BatchNormConfig{.relu = true}));
  int64_t in = 16;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = 16 << stage;
    for (int64_t b = 0; b < blocks; ++b) {
      net_->add(std::make_shared<BasicBlock>(in, out, stage > 0 && b == 0 ? 2 : 1));
      in = out;
    }
  }
  net_->add(global_average_pooling_2d);  // [N, 64, h, w] -> [N, 64]
  net_->add(std::make_shared<Linear>(64, classes));
}

Variable ResNet::forward(const Variable& x) {
  PRISM_CHECK(x.defined() && x.data().dim() == 4,
              "ResNet: expected x [N, C, H, W], got " << shape_string(x));
  return (*net_)(x);
}

}  // namespace prism::nn

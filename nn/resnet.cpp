#include "nn/resnet.hpp"

#include "dist/functions.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "ops/activation.hpp"
#include "ops/pooling.hpp"

namespace prism::nn {

namespace {

// A convolution without bias (a BN follows each) and the BN after it: serial, or on more than
// one rank the filter partition's, its output and the BN sharded in blocks. A first layer reads
// the replicated image: Y-stationary, each rank convolves it with its own filters.
struct ConvBn {
  std::shared_ptr<Convolution2D> conv;
  std::shared_ptr<BatchNormalization> bn;
};
ConvBn conv_bn(const dist::Communicator& comm, int64_t in, int64_t out, Size2 ksize, int64_t stride,
               Size2 pad, BatchNormConfig bn, Stationary stationary = Stationary::automatic) {
  if (comm.size() == 1)
    return {std::make_shared<Convolution2D>(in, out, ksize, stride, pad, /*nobias=*/true),
            std::make_shared<BatchNormalization>(out, std::move(bn))};
  auto conv = std::make_shared<ParallelConvolution2D>(
      comm, in, out, ksize, stride, pad, /*nobias=*/true, dist::GradRule::exact, Layout::sharded,
      Partition::filter, stationary);
  return {conv, std::make_shared<BatchNormalization>(conv->output_shard(), out, std::move(bn))};
}

}  // namespace

BasicBlock::BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride,
                       const dist::Communicator& comm) {
  ConvBn first = conv_bn(comm, in_channels, out_channels, 3, stride, 1, {.relu = true});
  conv1_ = register_module("conv1", first.conv);
  bn1_ = register_module("bn1", first.bn);
  ConvBn second = conv_bn(comm, out_channels, out_channels, 3, 1, 1, {});
  conv2_ = register_module("conv2", second.conv);
  bn2_ = register_module("bn2", second.bn);
  if (stride != 1 || in_channels != out_channels) {
    ConvBn shortcut = conv_bn(comm, in_channels, out_channels, 1, stride, 0, {});
    shortcut_conv_ = register_module("shortcut_conv", shortcut.conv);
    shortcut_bn_ = register_module("shortcut_bn", shortcut.bn);
  }
}

Variable BasicBlock::forward(const Variable& x) {
  const Variable y = (*bn2_)((*conv2_)((*bn1_)((*conv1_)(x))));
  const Variable shortcut = shortcut_conv_ ? (*shortcut_bn_)((*shortcut_conv_)(x)) : x;
  return add_relu(y, shortcut);
}

ResNet::ResNet(int64_t depth, int64_t in_channels, int64_t classes,
               const dist::Communicator& comm) {
  PRISM_CHECK(
      depth >= 8 && (depth - 2) % 6 == 0,
      "ResNet: depth must be 6 n + 2 with n >= 1 (20, 32, 44, 56, 110, ...), got " << depth);
  PRISM_CHECK(in_channels > 0 && classes > 0, "ResNet: needs positive in_channels and classes, got "
                                                  << in_channels << " and " << classes);
  PRISM_CHECK(comm.size() <= 16,
              "ResNet: at most 16 ranks (the first stage's channels), got " << comm.size());
  const int64_t blocks = (depth - 2) / 6;
  net_ = register_module("net", std::make_shared<Sequential>());
  ConvBn stem = conv_bn(comm, in_channels, 16, 3, 1, 1, {.relu = true}, Stationary::output);
  net_->add(stem.conv);
  net_->add(stem.bn);
  int64_t in = 16;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = 16 << stage;
    for (int64_t b = 0; b < blocks; ++b) {
      net_->add(std::make_shared<BasicBlock>(in, out, stage > 0 && b == 0 ? 2 : 1, comm));
      in = out;
    }
  }
  if (comm.size() > 1)  // the blocks of [N, 64, h, w] -> all of it -> [N, 64]
    net_->add([comm](const Variable& x) {
      return global_average_pooling_2d(dist::functions::gather_channels(comm, x));
    });
  else
    net_->add(global_average_pooling_2d);  // [N, 64, h, w] -> [N, 64]
  net_->add(std::make_shared<Linear>(64, classes));
}

Variable ResNet::forward(const Variable& x) {
  PRISM_CHECK(x.defined() && x.data().dim() == 4,
              "ResNet: expected x [N, C, H, W], got " << shape_string(x));
  return (*net_)(x);
}

}  // namespace prism::nn

#include "nn/vgg16.hpp"

#include "nn/batch_normalization.hpp"
#include "nn/convolution_2d.hpp"
#include "nn/dropout.hpp"
#include "nn/linear.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/sync_batch_normalization.hpp"
#include "ops/activation.hpp"
#include "ops/pooling.hpp"
#include "ops/shape.hpp"

namespace prism::nn {

namespace {

// A first block's plain convolution in the sharded layout: computed whole on every rank (its
// weights are replicated), its output sliced to this rank's shard. shard_channels sums the
// output's gradient over ranks, so every rank's weight gradient is the whole one.
class SlicedConvolution2D : public Convolution2D {
 public:
  SlicedConvolution2D(const dist::Communicator& comm, int64_t in, int64_t out)
      : Convolution2D(in, out, 3, 1, 1, /*nobias=*/true), comm_(comm) {}
  Variable forward(const Variable& x) override {
    const Variable y = Convolution2D::forward(x);
    return dist::functions::shard_channels(comm_, y,
                                           strided_shard(y.shape()[1], comm_.size(), comm_.rank()));
  }

 private:
  dist::Communicator comm_;
};

// conv (parallel where every rank gets an input channel) + BN + ReLU (fused into the BN op)
std::shared_ptr<Sequential> block(const dist::Communicator& comm, int64_t in, int64_t out,
                                  Layout layout, Partition partition, const BatchNormConfig& bn) {
  const bool sharded = layout == Layout::sharded;
  auto b = std::make_shared<Sequential>();
  if (partition == Partition::filter) {  // needs only comm.size() <= out
    auto conv = std::make_shared<ParallelConvolution2D>(
        comm, in, out, 3, 1, 1, /*nobias=*/true, dist::GradRule::exact, layout, Partition::filter);
    const ChannelShard shard = sharded ? conv->output_shard() : ChannelShard{};
    b->add(conv);
    b->add(std::make_shared<BatchNormalization>(shard, out, bn));
    return b;
  }
  if (comm.size() <= in) {
    b->add(std::make_shared<ParallelConvolution2D>(comm, in, out, 3, 1, 1, /*nobias=*/true,
                                                   dist::GradRule::exact, layout));
  } else if (sharded) {
    b->add(std::make_shared<SlicedConvolution2D>(comm, in, out));
  } else {
    b->add(std::make_shared<Convolution2D>(in, out, 3, 1, 1, /*nobias=*/true));
  }
  const ChannelShard shard =
      sharded ? strided_shard(out, comm.size(), comm.rank()) : ChannelShard{};
  b->add(std::make_shared<BatchNormalization>(shard, out, bn));
  return b;
}

Variable max_pool_2x2(const Variable& x) {
  return max_pooling_2d(x, 2);
}

}  // namespace

VGG16::VGG16(const dist::Communicator& comm, int64_t in_channels, int64_t classes, Layout layout,
             Size2 image, Partition partition, const dist::Communicator& data)
    : image_(image) {
  PRISM_CHECK(in_channels > 0 && classes > 0, "VGG16: needs positive in_channels and classes, got "
                                                  << in_channels << " and " << classes);
  PRISM_CHECK(image.h > 0 && image.w > 0 && image.h % 32 == 0 && image.w % 32 == 0,
              "VGG16: the image size must be a positive multiple of 32 in each dimension, got "
                  << to_string(image));
  // (output channels, what follows the block: a dropout ratio, or 0 for a 2x2 max pooling)
  struct Layer {
    int64_t out;
    float dropout;
  };
  const Layer layers[] = {{64, 0.3f},  {64, 0},     {128, 0.4f}, {128, 0},    {256, 0.4f},
                          {256, 0.4f}, {256, 0},    {512, 0.4f}, {512, 0.4f}, {512, 0},
                          {512, 0.4f}, {512, 0.4f}, {512, 0}};
  // One process's batch statistics, or the whole batch's over the data group.
  auto bn = [&](BatchNormConfig config) {
    return data.size() > 1 ? synchronized(data, std::move(config)) : config;
  };
  net_ = register_module("net", std::make_shared<Sequential>());
  int64_t in = in_channels;
  for (const Layer& layer : layers) {
    net_->add(block(comm, in, layer.out, layout, partition, bn({.relu = true})));
    if (layer.dropout > 0)
      net_->add(std::make_shared<Dropout>(layer.dropout));
    else
      net_->add(max_pool_2x2);
    in = layer.out;
  }
  if (layout == Layout::sharded)  // shards of [N, 512, h / 32, w / 32] -> all of it, flattened
    net_->add(
        [comm](const Variable& x) { return flatten(dist::functions::gather_channels(comm, x)); });
  else
    net_->add(flatten);  // [N, 512, h / 32, w / 32] -> [N, 512 * h / 32 * w / 32]
  net_->add(std::make_shared<Dropout>(0.5f));
  net_->add(std::make_shared<Linear>(512 * (image.h / 32) * (image.w / 32), 512, /*nobias=*/true));
  net_->add(std::make_shared<BatchNormalization>(512, bn({})));
  net_->add(relu);
  net_->add(std::make_shared<Dropout>(0.5f));
  net_->add(std::make_shared<Linear>(512, classes, /*nobias=*/true));
}

Variable VGG16::forward(const Variable& x) {
  PRISM_CHECK(
      x.defined() && x.data().dim() == 4 && x.shape()[2] == image_.h && x.shape()[3] == image_.w,
      "VGG16: expected x [N, C, " << image_.h << ", " << image_.w << "], got " << shape_string(x));
  return (*net_)(x);
}

}  // namespace prism::nn

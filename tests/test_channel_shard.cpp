// Channel-sharded Variables on one process: the label travels through per-channel ops, ops
// that need every channel refuse it by name, and dropout and batch normalization on a shard
// compute exactly the full tensor's values at its channels.
#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::random_tensor;

namespace {

// Channels shard.full_channel(0, 1, ...) of x [N, C, ...].
Tensor slice(const Tensor& x, const ChannelShard& shard) {
  std::vector<int64_t> index;
  for (int64_t k = 0; k < shard.count(); ++k)
    index.push_back(shard.full_channel(k));
  return select_channels(Variable(x), index).data();
}

}  // namespace

TEST_CASE("channel shard: counts, names and the checks of with_channel_shard") {
  const ChannelShard s = strided_shard(7, 3, 1);  // channels 1 and 4
  CHECK(s.count() == 2);
  CHECK(s.full_channel(1) == 4);
  CHECK(to_string(s) == "channels 1, 4 of 7");
  CHECK(to_string(strided_shard(64, 2, 1)) == "channels 1, 3, 5, ... of 64");
  CHECK(to_string(ChannelShard{}) == "every channel");
  CHECK(strided_shard(3, 4, 3).count() == 0);  // a rank past the channels holds none
  CHECK(strided_shard(64, 1, 0) == ChannelShard{});
  CHECK(strided_shard(64, 4, 2) == ChannelShard{64, 4, 2, 64});
  // Blocks of 7 over 3 ranks: 3, 2, 2 channels, in rank order.
  CHECK(block_shard(7, 1, 0) == ChannelShard{});
  CHECK(block_shard(7, 3, 0) == ChannelShard{7, 1, 0, 3});
  CHECK(block_shard(7, 3, 1) == ChannelShard{7, 1, 3, 5});
  CHECK(block_shard(7, 3, 2) == ChannelShard{7, 1, 5, 7});
  CHECK(block_shard(3, 4, 3).count() == 0);
  CHECK(to_string(block_shard(7, 3, 1)) == "channels [3, 5) of 7");
  CHECK(shard_of_rank(block_shard(7, 3, 1), 3, 2) == block_shard(7, 3, 2));
  CHECK(shard_of_rank(strided_shard(7, 3, 1), 3, 0) == strided_shard(7, 3, 0));
  Variable x(Tensor({2, 2, 3}));
  CHECK(with_channel_shard(x, s).shard() == s);
  CHECK(with_channel_shard(x, block_shard(7, 3, 1)).shard() == block_shard(7, 3, 1));
  CHECK(with_channel_shard(with_channel_shard(x, s), {}).shard() == ChannelShard{});
  CHECK(with_channel_shard(x, {2, 1, 0, 2}).shard() == ChannelShard{});  // every channel
  CHECK_THROWS_WITH_AS(with_channel_shard(x, strided_shard(7, 2, 0)),
                       doctest::Contains("cannot hold channels 0, 2, 4, ... of 7"), Error);
  CHECK_THROWS_AS(with_channel_shard(x, {7, 3, 6, 9}), Error);  // past the channels
  CHECK_THROWS_AS(with_channel_shard(x, {7, 1, 4, 2}), Error);  // ends before it starts
  CHECK_THROWS_AS(with_channel_shard(x, {7, 0, 0, 2}), Error);
}

TEST_CASE("channel shard: per-channel ops keep it, ops that need every channel refuse it") {
  Rng rng(1);
  const ChannelShard s = strided_shard(6, 2, 1);
  Variable x = with_channel_shard(Variable(random_tensor({2, 3, 4, 4}, rng), true), s);
  CHECK(relu(x).shard() == s);
  CHECK(max_pooling_2d(x, 2).shard() == s);
  CHECK(add(x, relu(x)).shard() == s);
  CHECK(dropout(x, 0.5f, true, rng).shard() == s);
  Variable other =
      with_channel_shard(Variable(random_tensor({2, 3, 4, 4}, rng)), strided_shard(6, 2, 0));
  CHECK_THROWS_WITH_AS(add(x, other),
                       doctest::Contains("inputs hold different channels, channels 1, 3, 5 of 6 "
                                         "and channels 0, 2, 4 of 6"),
                       Error);
  const Variable w(random_tensor({4, 3, 3, 3}, rng));
  CHECK_THROWS_WITH_AS(flatten(x),
                       doctest::Contains("flatten: needs every channel, but x holds "
                                         "channels 1, 3, 5 of 6"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Variable(), 1, 1), doctest::Contains("conv2d: needs every"),
                       Error);
  CHECK_THROWS_WITH_AS(reshape(x, {2, -1}), doctest::Contains("reshape: needs every"), Error);
  CHECK_THROWS_WITH_AS(sum(x), doctest::Contains("sum: needs every"), Error);
  CHECK_THROWS_WITH_AS(concat({x, x}, 1), doctest::Contains("concat on axis 1"), Error);
  CHECK(concat({x, x}, 0).shard() == s);  // more images of the same channels
  CHECK_THROWS_WITH_AS(select_channels(x, {0}), doctest::Contains("select_channels"), Error);
  // The gradient passes through the label unchanged.
  Variable leaf(random_tensor({2, 3, 4, 4}, rng), true);
  sum(with_channel_shard(with_channel_shard(leaf, s), {})).backward();
  CHECK(leaf.grad().to_vector() == Tensor::ones({2, 3, 4, 4}).to_vector());
}

TEST_CASE("channel shard: dropout draws the full tensor's mask at the shard's elements") {
  // Planes of 15 (odd: pairs of the generator straddle planes) and of 16, shards that start at
  // channel 0 and past it, and a shard of one channel.
  for (const Shape& shape : {Shape{3, 7, 3, 5}, Shape{2, 5, 4, 4}, Shape{4, 3, 1, 1}})
    for (const ChannelShard& s : {strided_shard(shape[1], 3, 1), strided_shard(shape[1], 2, 0),
                                  strided_shard(shape[1], int(shape[1]), int(shape[1]) - 1),
                                  block_shard(shape[1], 2, 1), block_shard(shape[1], 3, 0)}) {
      CAPTURE(to_string(shape));
      CAPTURE(to_string(s));
      Rng data(2);
      const Tensor x = random_tensor(shape, data, 1.0f, 2.0f);
      Rng a(9), b(9);
      const Tensor full = dropout(Variable(x), 0.4f, true, a).data();
      const Tensor part =
          dropout(with_channel_shard(Variable(slice(x, s)), s), 0.4f, true, b).data();
      CHECK(part.to_vector() == slice(full, s).to_vector());
    }
}

TEST_CASE("channel shard: a sharded batch norm is the full one's channels, and checks its input") {
  Rng rng(4);
  const ChannelShard s = strided_shard(5, 2, 1);
  const Tensor x = random_tensor({4, 5, 3, 3}, rng), g = random_tensor({4, 5, 3, 3}, rng);
  nn::BatchNormalization full(5, BatchNormConfig{.relu = true});
  nn::BatchNormalization part(s, 5, BatchNormConfig{.relu = true});
  CHECK(part.partitioned());
  CHECK_FALSE(full.partitioned());
  CHECK(part.gamma().shape() == Shape{2});
  Variable xf(x, true), xs(slice(x, s), true);
  Variable yf = full(xf), ys = part(with_channel_shard(xs, s));
  CHECK(ys.shard() == s);
  CHECK(ys.data().to_vector() == slice(yf.data(), s).to_vector());
  sum(mul(yf, Variable(g))).backward();
  // sum() refuses a shard (its sum is not the full tensor's): drop the label first.
  sum(with_channel_shard(mul(ys, with_channel_shard(Variable(slice(g, s)), s)), {})).backward();
  CHECK(xs.grad().to_vector() == slice(xf.grad(), s).to_vector());
  const std::vector<float> gamma = full.gamma().grad().to_vector();
  CHECK(part.gamma().grad().to_vector() == std::vector<float>{gamma[1], gamma[3]});
  CHECK(part.avg_mean().to_vector() ==
        std::vector<float>{full.avg_mean().to_vector()[1], full.avg_mean().to_vector()[3]});
  CHECK_THROWS_WITH_AS(part(Variable(slice(x, s))),
                       doctest::Contains("holds channels 1, 3 of 5, but x holds every channel"),
                       Error);
  CHECK(full(with_channel_shard(Variable(x), {5, 1, 0, 5})).shard() ==
        ChannelShard{});  // every channel
  CHECK_THROWS_AS(nn::BatchNormalization(strided_shard(6, 2, 1), 5), Error);
  // A block: channels [1, 3) of 5.
  const ChannelShard block{5, 1, 1, 3};
  nn::BatchNormalization blocked(block, 5, BatchNormConfig{.relu = true});
  Variable xb(slice(x, block), true);
  CHECK(blocked(with_channel_shard(xb, block)).data().to_vector() ==
        slice(yf.data(), block).to_vector());
}

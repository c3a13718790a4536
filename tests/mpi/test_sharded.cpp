// The channel-sharded layout against its definition, the gathered one: the same values,
// bitwise, forward and backward, on every rank count.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "dist/collectives.hpp"
#include "dist/functions.hpp"
#include "gradcheck.hpp"
#include "nn/batch_normalization.hpp"
#include "nn/classifier.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/vgg16.hpp"
#include "ops/arithmetic.hpp"
#include "ops/shape.hpp"
#include "optim/momentum_sgd.hpp"

using namespace prism;
using prism::nn::Layout;
using prism::nn::ParallelConvolution2D;
using prism::testing::random_tensor;

namespace {

// Channels shard.full_channel(0, 1, ...) of full [N, C, ...] (or of [C] for a 1-D tensor).
Tensor slice_shard(const Tensor& full, const ChannelShard& shard) {
  if (!shard.sharded()) return full;
  const bool flat = full.dim() == 1;
  const int64_t n = flat ? 1 : full.size(0), c = flat ? full.size(0) : full.size(1);
  const int64_t plane = full.numel() / (n * c), local = shard.count();
  Shape shape = full.shape();
  shape[flat ? 0 : 1] = local;
  Tensor out(shape);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < local; ++k)
      std::copy_n(full.data() + (b * c + shard.full_channel(k)) * plane, plane,
                  out.data() + (b * local + k) * plane);
  return out;
}

}  // namespace

TEST_CASE("exchange_channels: blocks to strided shards and back, with empty runs") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  // Rank r holds channels [5r, 5r + 5) of 5P, each value naming (image, channel, pixel); rank
  // r receives the channels c % P == r, from every rank's block.
  const int64_t n = 2, plane = 3, channels = 5 * p;
  Tensor block({n, 5, plane});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < 5; ++k)
      for (int64_t q = 0; q < plane; ++q)
        block.data()[(b * 5 + k) * plane + q] = float(b * 1000 + (5 * rank + k) * 10 + q);
  std::vector<dist::ChannelRun> send, recv;
  int64_t at = 0;
  for (int j = 0; j < p; ++j) {
    auto run = [&](int owner, int reader) {
      const int64_t first = 5 * owner + ((reader - 5 * owner) % p + p) % p;
      const int64_t end = 5 * owner + 5;
      return dist::ChannelRun{first - 5 * owner, first < end ? (end - 1 - first) / p + 1 : 0, p};
    };
    send.push_back(run(rank, j));
    const int64_t count = run(j, rank).count;
    recv.push_back({at, count, 1});
    at += count;
  }
  const ChannelShard shard = strided_shard(channels, p, rank);
  CHECK(at == (p == 1 ? channels : shard.count()));
  const Tensor got = dist::exchange_channels(comm, block, send, recv, at);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < at; ++k)
      for (int64_t q = 0; q < plane; ++q) {
        const int64_t c = p == 1 ? k : shard.full_channel(k);
        CHECK(got.data()[(b * at + k) * plane + q] == float(b * 1000 + c * 10 + q));
      }
  // In flight: the same values once test() says it is done (every rank polls, so each one's
  // part progresses), and two images at a time land in their own images of the result.
  Tensor polled = Tensor::empty(got.shape());
  {
    dist::ChannelExchange first(comm, {block.data(), 1, 5, plane}, send,
                                {polled.data(), 1, at, plane}, recv);
    dist::ChannelExchange second(comm, {block.data() + 5 * plane, 1, 5, plane}, send,
                                 {polled.data() + at * plane, 1, at, plane}, recv);
    while (!first.test()) {
    }
    second.wait();
  }
  CHECK(polled.to_vector() == got.to_vector());
  // And back: the reverse exchange restores every block.
  const Tensor back = dist::exchange_channels(comm, got, recv, send, 5);
  CHECK(back.to_vector() == block.to_vector());
  // A receive run that leaves the result, or a channel received twice, is refused before any
  // message moves (every rank fails the same local check, so none waits).
  std::vector<dist::ChannelRun> twice = recv;
  twice[0] = {0, at, 1};
  if (p > 1) CHECK_THROWS_AS(dist::exchange_channels(comm, block, send, twice, at), Error);
  std::vector<dist::ChannelRun> outside = recv;
  outside[0].first = at;
  outside[0].count = 1;
  CHECK_THROWS_AS(dist::exchange_channels(comm, block, send, outside, at), Error);
}

TEST_CASE("split waits: a barrier before each exchange, the wait for a slower rank apart") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  // Every rank sends its one channel to every rank: [1, P, 2] from [1, 1, 2] blocks.
  const Tensor mine = Tensor::from({1, 1, 2}, {float(rank), float(10 + rank)});
  std::vector<dist::ChannelRun> send(p, {0, 1, 1}), recv;
  for (int j = 0; j < p; ++j)
    recv.push_back({j, 1, 1});
  const Tensor plain = dist::exchange_channels(comm, mine, send, recv, p);
  CHECK(dist::traffic().imbalance_seconds == 0);  // off by default
  struct SplitWaits {                             // on for this scope only, whatever is thrown
    SplitWaits() { dist::set_split_waits(true); }
    ~SplitWaits() { dist::set_split_waits(false); }
  };
  const dist::Traffic before = dist::traffic();
  Tensor split;
  {
    SplitWaits on;
    if (rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    split = dist::exchange_channels(comm, mine, send, recv, p);
  }
  const dist::Traffic after = dist::traffic();
  CHECK(split.to_vector() == plain.to_vector());
  // The others waited for rank 0 at the barrier (most of its 300 ms, with room for a rank that
  // is descheduled on the way, as 4 ranks on 2 cores are), and that wait is not communication.
  const double waited = after.imbalance_seconds - before.imbalance_seconds;
  if (rank != 0) {
    CHECK(waited >= 0.05);
    CHECK(after.seconds - before.seconds < waited);  // a few floats move in far less
  }
  if (p == 1) CHECK(waited == 0);  // nothing to wait for, no barrier
}

TEST_CASE("sharded parallel convolutions equal the gathered ones, forward and backward") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  Rng rng(5);
  const Tensor x = random_tensor({3, 7, 6, 5}, rng), g = random_tensor({3, 9, 6, 5}, rng);
  struct Run {
    Tensor y, dx, dw1, dw2;
  };
  auto run = [&](Layout layout, int64_t chunks = 1) {
    manual_seed(4);
    ParallelConvolution2D one(comm, 7, 8, 3, 1, 1, false, dist::GradRule::exact, layout);
    ParallelConvolution2D two(comm, 8, 9, 3, 1, 1, false, dist::GradRule::exact, layout);
    one.set_chunks(chunks);
    two.set_chunks(chunks);
    Variable in(x, true);
    Variable y = two(one(in));
    if (layout == Layout::sharded) {
      CHECK(y.shard() == strided_shard(9, p, rank));
      y = dist::functions::gather_channels(comm, y);
    }
    CHECK(!y.shard().sharded());
    sum(mul(y, Variable(g))).backward();
    return Run{y.data(), in.grad(), one.W().grad(), two.W().grad()};
  };
  const Run gathered = run(Layout::gathered);
  // Chunks of the batch overlap the exchange with the convolution; every count, up to more
  // chunks than images, gives the same values.
  for (int64_t chunks : {1, 2, 3, 5}) {
    CAPTURE(chunks);
    const Run sharded = run(Layout::sharded, chunks);
    CHECK(sharded.y.to_vector() == gathered.y.to_vector());
    CHECK(sharded.dx.to_vector() == gathered.dx.to_vector());
    CHECK(sharded.dw1.to_vector() == gathered.dw1.to_vector());
    CHECK(sharded.dw2.to_vector() == gathered.dw2.to_vector());
  }
  ParallelConvolution2D conv(comm, 7, 8, 3, 1, 1);
  CHECK_THROWS_WITH_AS(conv.set_chunks(0), doctest::Contains("at least one chunk"), Error);
}

TEST_CASE("shard_channels and gather_channels: a slice, the whole, and exact gradients") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  Rng rng(6);
  const Tensor x = random_tensor({2, 5, 3, 2}, rng), g = random_tensor({2, 5, 3, 2}, rng);
  for (auto make : {strided_shard, block_shard}) {
    const ChannelShard shard = make(5, p, rank);
    CAPTURE(to_string(shard));
    Variable in(x, true);
    Variable s = dist::functions::shard_channels(comm, in, shard);
    CHECK(s.shard() == shard);
    CHECK(s.data().to_vector() == slice_shard(x, shard).to_vector());
    if (p == 4 && make == strided_shard)
      CHECK(s.shape()[1] == (rank == 0 ? 2 : 1));  // channels 0 and 4; 1; 2; 3
    if (p == 4 && make == block_shard)
      CHECK(s.shape()[1] == (rank == 0 ? 2 : 1));  // channels 0 and 1; 2; 3; 4
    Variable whole = dist::functions::gather_channels(comm, s);
    CHECK(whole.data().to_vector() == x.to_vector());
    // Replicated after the gather: d/dx sum(whole * g) = g, whole on every rank (shard_channels
    // sums the ranks' slices of it).
    sum(mul(whole, Variable(g))).backward();
    CHECK(in.grad().to_vector() == g.to_vector());
    // The wrong shard, or none, is refused by name.
    if (p > 1) {
      CHECK_THROWS_WITH_AS(dist::functions::gather_channels(comm, in),
                           doctest::Contains("x holds every channel"), Error);
      CHECK_THROWS_WITH_AS(flatten(s), doctest::Contains("flatten: needs every channel"), Error);
      const ChannelShard other = make(5, p, (rank + 1) % p);
      Variable wrong = with_channel_shard(Variable(Tensor({2, other.count(), 3, 2})), other);
      CHECK_THROWS_WITH_AS(dist::functions::gather_channels(comm, wrong),
                           doctest::Contains("but x holds channels"), Error);
    }
  }
  if (p > 1) {
    const ChannelShard shard = strided_shard(5, p, rank);  // of 5 channels, not the layer's 6
    ParallelConvolution2D conv(comm, 6, 4, 3, 1, 1);
    Variable wrong = with_channel_shard(Variable(Tensor({2, shard.count(), 3, 2})), shard);
    CHECK_THROWS_WITH_AS(conv(wrong), doctest::Contains("but x holds channels"), Error);
  }
}

TEST_CASE("VGG16: the sharded layout trains exactly as the gathered one") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  Rng rng(3);
  const Tensor x = prism::testing::random_tensor({3, 3, 32, 32}, rng);
  const Labels t{1, 7, 4};
  struct Trained {
    std::vector<float> logits, losses;
    NamedTensors grads, values;
  };
  auto train = [&](Layout layout) {
    manual_seed(0);
    auto vgg = std::make_shared<nn::VGG16>(comm, 3, 10, layout);
    nn::Classifier model(vgg);
    optim::MomentumSGD optimizer(model.named_parameters(), 0.01f);
    optimizer.set_weight_decay(5e-4f);
    Trained out;
    for (int step = 0; step < 3; ++step) {
      model.zero_grad();
      if (step == 0) out.logits = model.forward(Variable(x)).data().to_vector();
      Variable loss = model(Variable(x), t);
      loss.backward();
      out.losses.push_back(model.loss());
      if (step == 0) {
        for (const auto& [name, v] : model.named_parameters())
          out.grads.emplace_back(name, v.grad().clone());
      }
      optimizer.update();
    }
    for (const auto& [name, v] : model.named_parameters())
      out.values.emplace_back(name, v.data().clone());
    for (const auto& [name, b] : model.named_buffers())
      out.values.emplace_back(name, b.clone());
    return out;
  };
  const Trained gathered = train(Layout::gathered), sharded = train(Layout::sharded);
  CHECK(sharded.logits == gathered.logits);
  CHECK(sharded.losses == gathered.losses);
  // Same names; a sharded BN holds this rank's channels of the gathered one's.
  int64_t slices = 0;  // entries held as a rank's slice: every block's BN, 4 entries each
  auto compare = [&](const NamedTensors& s, const NamedTensors& g) {
    REQUIRE(s.size() == g.size());
    for (size_t i = 0; i < s.size(); ++i) {
      CAPTURE(s[i].first);
      REQUIRE(s[i].first == g[i].first);
      const bool sliced = s[i].second.shape() != g[i].second.shape();
      slices += sliced;
      const int64_t full = g[i].second.size(0);
      const Tensor want =
          sliced ? slice_shard(g[i].second, strided_shard(full, p, rank)) : g[i].second;
      CHECK(s[i].second.to_vector() == want.to_vector());
    }
  };
  compare(sharded.grads, gathered.grads);
  compare(sharded.values, gathered.values);
  CHECK(slices == (p == 1 ? 0 : 13 * 2 + 13 * 4));  // gamma, beta grads; + both buffers
}

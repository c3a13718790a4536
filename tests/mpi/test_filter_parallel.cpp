// The filter partition against its definition, the single-process layer and model: the same
// values (to float rounding), forward and backward, on every rank count, for both ways the
// ranks meet (Y- and X-stationary), sharded and gathered outputs, replicated and sharded inputs.
#include <doctest/doctest.h>
#include <cmath>

#include "dist/functions.hpp"
#include "dist_gradcheck.hpp"
#include "nn/classifier.hpp"
#include "nn/convolution_2d.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/vgg16.hpp"
#include "ops/arithmetic.hpp"
#include "ops/loss.hpp"
#include "ops/shape.hpp"
#include "optim/momentum_sgd.hpp"
#include "trains_like_serial.hpp"

using namespace prism;
using prism::nn::Layout;
using prism::nn::ParallelConvolution2D;
using prism::nn::Partition;
using prism::nn::Stationary;
using prism::testing::max_rel_diff;
using prism::testing::random_tensor;
using prism::testing::rel_l2_diff;
using prism::testing::slice_axis;

namespace {

// This rank's block of t along axis (block_shard's channels).
Tensor block_of(const Tensor& t, int64_t axis, const dist::Communicator& comm) {
  const int64_t n = t.size(axis);
  return slice_axis(t, axis, block_offset(n, comm.size(), comm.rank()),
                    ParallelConvolution2D::channel_count(n, comm.size(), comm.rank()));
}

void check_close(const Tensor& got, const Tensor& want, double tol = 1e-5) {
  REQUIRE(got.shape() == want.shape());
  CHECK(max_rel_diff(got, want) < tol);
}

}  // namespace

TEST_CASE("dist functions: reduce_scatter sums over ranks, hands out blocks, and its gradient") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), rank = comm.rank();
  // Blocks of 1, 0, 2, 1, ... along axis 1: a rank may get nothing.
  std::vector<int64_t> extents;
  for (int r = 0; r < p; ++r)
    extents.push_back(r % 3 == 1 ? 0 : r % 3 + 1);
  int64_t total = 0;
  for (int64_t e : extents)
    total += e;
  Rng rng(11 + static_cast<uint64_t>(rank));
  const Tensor x = random_tensor({2, total, 3}, rng);
  const Variable y = dist::functions::reduce_scatter(comm, Variable(x), 1, extents);
  Tensor sum = x.clone();
  dist::allreduce(comm, sum);
  int64_t first = 0;
  for (int r = 0; r < rank; ++r)
    first += extents[static_cast<size_t>(r)];
  check_close(y.data(), slice_axis(sum, 1, first, extents[static_cast<size_t>(rank)]), 1e-6);
  // The ranks' losses add up: d/dx of the total is every rank's gradient block, gathered.
  testing::check_gradients_across(comm,
                                  [&](const std::vector<Variable>& v) {
                                    return dist::functions::reduce_scatter(comm, v[0], 1, extents);
                                  },
                                  {x});
  CHECK_THROWS_WITH_AS(dist::functions::reduce_scatter(comm, Variable(x), 1, {total + 1}),
                       doctest::Contains(p == 1 ? "add up to" : "extents for"), Error);
}

TEST_CASE("filter partition: each layer equals the single-process Convolution2D") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  const int64_t c = 5, k = 7;  // not multiples of the rank counts
  for (Stationary stationary : {Stationary::output, Stationary::input})
    for (Layout layout : {Layout::sharded, Layout::gathered})
      for (bool sharded_input : {false, true})
        for (int64_t stride : {1, 2})
          for (bool nobias : {false, true}) {
            CAPTURE(static_cast<int>(stationary));
            CAPTURE(static_cast<int>(layout));
            CAPTURE(sharded_input);
            CAPTURE(stride);
            CAPTURE(nobias);
            manual_seed(5);
            nn::Convolution2D serial(c, k, 3, stride, 1, nobias);
            manual_seed(5);
            ParallelConvolution2D conv(comm, c, k, 3, stride, 1, nobias, dist::GradRule::exact,
                                       layout, Partition::filter, stationary);
            CHECK(conv.stationary() == stationary);
            // The layer's weight is its slice of the serial one's.
            const Tensor w = serial.W().data();
            CHECK(conv.W().data().to_vector() ==
                  (stationary == Stationary::output ? block_of(w, 0, comm) : block_of(w, 1, comm))
                      .to_vector());
            if (!nobias) {  // a bias that is not zero, set alike on both
              Rng brng(8);
              const Tensor b = random_tensor({k}, brng);
              std::copy_n(b.data(), k, serial.b().data().data());
              const Tensor mine = block_of(b, 0, comm);
              std::copy_n(mine.data(), mine.numel(), conv.b().data().data());
            }
            Rng rng(9);  // the same data on every rank
            const Tensor x = random_tensor({2, c, 6, 6}, rng);
            Variable xs(x, true);
            const Variable ys = serial(xs);
            const Tensor gy = random_tensor(ys.shape(), rng);
            sum(mul(ys, Variable(gy))).backward();

            const ChannelShard in_shard = block_shard(c, p, comm.rank());
            Variable xp(sharded_input ? block_of(x, 1, comm) : x, true);
            const Variable in = sharded_input ? with_channel_shard(xp, in_shard) : xp;
            const Variable yp = conv(in);
            const bool out_sharded = layout == Layout::sharded && p > 1;
            CHECK(yp.shard() == (out_sharded ? conv.output_shard() : ChannelShard{}));
            const Tensor want_y = out_sharded ? block_of(ys.data(), 1, comm) : ys.data();
            check_close(yp.data(), want_y);
            // Sharded: the ranks' losses together are the serial one; gathered: each rank's is.
            const Tensor g = out_sharded ? block_of(gy, 1, comm) : gy;
            sum(with_channel_shard(mul(yp, with_channel_shard(Variable(g), yp.shard())), {}))
                .backward();
            // A replicated input's gradient is summed over ranks already (the exact rule).
            check_close(xp.grad(), sharded_input ? block_of(xs.grad(), 1, comm) : xs.grad());
            const Tensor dw = serial.W().grad();
            check_close(conv.W().grad(), stationary == Stationary::output ? block_of(dw, 0, comm)
                                                                          : block_of(dw, 1, comm));
            if (!nobias) check_close(conv.b().grad(), block_of(serial.b().grad(), 0, comm));
          }
}

TEST_CASE("filter partition: the choice of stationary, and what a rank count leaves out") {
  CHECK(ParallelConvolution2D::automatic_stationary(64, 128, 1) == Stationary::output);
  CHECK(ParallelConvolution2D::automatic_stationary(64, 64, 1) == Stationary::output);  // a tie
  CHECK(ParallelConvolution2D::automatic_stationary(128, 64, 1) == Stationary::input);
  CHECK(ParallelConvolution2D::automatic_stationary(64, 128, 2) == Stationary::input);
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  if (p == 1) return;
  // Y-stationary needs only a filter a rank; X-stationary an input channel too.
  manual_seed(1);
  ParallelConvolution2D narrow(comm, 1, p, 3, 1, 1, true, dist::GradRule::exact, Layout::sharded,
                               Partition::filter, Stationary::output);
  Rng rng(2);
  const Tensor x = random_tensor({1, 1, 4, 4}, rng);
  CHECK(narrow(Variable(x)).shape() == Shape{1, 1, 4, 4});
  CHECK_THROWS_WITH_AS(ParallelConvolution2D(comm, 1, p, 3, 1, 1, true, dist::GradRule::exact,
                                             Layout::sharded, Partition::filter, Stationary::input),
                       doctest::Contains("only 1 input channels"), Error);
  CHECK_THROWS_WITH_AS(ParallelConvolution2D(comm, 4, p - 1, 3, 1, 1, true, dist::GradRule::exact,
                                             Layout::sharded, Partition::filter),
                       doctest::Contains("output channels"), Error);
  // A strided shard is the seed's, not this layer's.
  ParallelConvolution2D conv(comm, 4, 4, 3, 1, 1, true, dist::GradRule::exact, Layout::sharded,
                             Partition::filter);
  const ChannelShard strided = strided_shard(4, p, comm.rank());
  if (strided != block_shard(4, p, comm.rank()))
    CHECK_THROWS_WITH_AS(
        conv(with_channel_shard(Variable(Tensor({1, strided.count(), 4, 4})), strided)),
        doctest::Contains("reads channels ["), Error);
}

TEST_CASE("VGG16, filter partition: trains as the single-process VGG16 built from the same seed") {
  const dist::Communicator comm = dist::Communicator::world();
  Rng rng(3);
  // 8 images: with fewer, BN's statistics over the 1x1 and 2x2 blocks amplify float rounding
  // into visibly different steps. Two steps: from the third on, rounding may tip a ReLU or a
  // max pooling on a near tie the other way (seen at 3 ranks), and training goes on from a
  // different, equally valid point.
  const Tensor x = random_tensor({8, 3, 32, 32}, rng);
  const Labels t{1, 7, 4, 0, 9, 2, 2, 5};
  const int steps = 2;
  auto vgg = [](const dist::Communicator& on) {
    return std::make_shared<nn::VGG16>(on, 3, 10, Layout::sharded, 32, Partition::filter);
  };
  const int64_t slices = testing::check_trains_like_serial(
      testing::train_steps(vgg, comm, x, t, steps, 0, 0.01f, 5e-4f),
      testing::train_steps(vgg, dist::Communicator(), x, t, steps, 0, 0.01f, 5e-4f), comm);
  // Per step: W and BN's gamma, beta of 13 blocks; then W, gamma, beta and both buffers.
  CHECK(slices == (comm.size() == 1 ? 0 : steps * (13 * 3 + 13 * 5)));
}

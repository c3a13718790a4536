// Data parallelism against its definition: D ranks, each holding its part of a batch, train the
// parameters that one process trains on the whole batch (optim::DataParallel), and a
// synchronized BN on the parts is one BN on the whole batch (nn::SyncBatchNormalization).
#include <doctest/doctest.h>

#include "dist_gradcheck.hpp"
#include "nn/convolution_2d.hpp"
#include "nn/linear.hpp"
#include "nn/sequential.hpp"
#include "nn/sync_batch_normalization.hpp"
#include "ops/activation.hpp"
#include "ops/arithmetic.hpp"
#include "ops/loss.hpp"
#include "ops/shape.hpp"
#include "optim/data_parallel.hpp"
#include "optim/momentum_sgd.hpp"
#include "whole_batch.hpp"

using namespace prism;
using prism::testing::random_tensor;
using prism::testing::rel_l2_diff;
using prism::testing::slice_axis;

namespace {

constexpr int64_t kBatch = 12;  // the global batch: splits evenly over 1 to 4 ranks

enum class Norm { none, local, synchronized };

// conv 3 -> 4 (3x3, pad 1) -> [BN] -> ReLU -> flatten -> linear 100 -> 3, on 5x5 inputs.
std::shared_ptr<nn::Sequential> small_cnn(Norm norm, const dist::Communicator& comm) {
  auto model = std::make_shared<nn::Sequential>();
  model->add(std::make_shared<nn::Convolution2D>(3, 4, 3, 1, 1));
  if (norm == Norm::local) model->add(std::make_shared<nn::BatchNormalization>(4));
  if (norm == Norm::synchronized) model->add(std::make_shared<nn::SyncBatchNormalization>(comm, 4));
  model->add([](const Variable& x) { return relu(x); });
  model->add([](const Variable& x) { return flatten(x); });
  model->add(std::make_shared<nn::Linear>(100, 3));
  return model;
}

// Three momentum-SGD steps (with weight decay) of one process on the whole batch, and of this
// rank on its part under DataParallel; then every parameter and buffer must agree.
void check_data_parallel_equals_serial(Norm serial_norm, Norm parallel_norm, int64_t bucket_bytes) {
  const dist::Communicator comm = dist::Communicator::world();
  const int64_t part = kBatch / comm.size(), first = part * comm.rank();
  manual_seed(3);
  auto serial = small_cnn(serial_norm, comm);
  manual_seed(3);
  auto parallel = small_cnn(parallel_norm, comm);
  optim::MomentumSGD serial_opt(serial->named_parameters(), 0.1f);
  optim::MomentumSGD parallel_opt(parallel->named_parameters(), 0.1f);
  serial_opt.set_weight_decay(1e-3f);
  parallel_opt.set_weight_decay(1e-3f);
  optim::DataParallel data_parallel(comm, parallel_opt, bucket_bytes);

  testing::check_part_trains_like_whole(*serial, serial_opt, *parallel, parallel_opt, {3, 5, 5},
                                        kBatch, first, part, 3, 11);
}

}  // namespace

TEST_CASE("DataParallel: D ranks with parts of a batch train what one process trains on it") {
  const int64_t param_bytes = (4 * 3 * 9 + 4 + 3 * 100 + 3) * 4;
  for (int64_t bucket_bytes :
       {int64_t{1}, int64_t{1000}, optim::DataParallel::kDefaultBucketBytes}) {
    CAPTURE(bucket_bytes);
    check_data_parallel_equals_serial(Norm::none, Norm::none, bucket_bytes);
  }
  // The buckets, filled in reverse order of the parameters.
  const dist::Communicator comm = dist::Communicator::world();
  auto model = small_cnn(Norm::none, comm);
  optim::MomentumSGD opt(model->named_parameters(), 0.1f);
  CHECK(optim::DataParallel(comm, opt, 1).bucket_sizes() == std::vector<int64_t>{1, 1, 1, 1});
  // 1000 bytes: the linear layer's b (12) and W (1200 bytes) fill one, the conv's b and W the next.
  CHECK(optim::DataParallel(comm, opt, 1000).bucket_sizes() == std::vector<int64_t>{2, 2});
  CHECK(optim::DataParallel(comm, opt, param_bytes).bucket_sizes() == std::vector<int64_t>{4});
}

TEST_CASE("DataParallel with synchronized BN trains what one process with BN trains") {
  check_data_parallel_equals_serial(Norm::local, Norm::synchronized, 1000);
}

TEST_CASE("DataParallel: rank 0's parameters everywhere; the rules it names") {
  const dist::Communicator comm = dist::Communicator::world();
  manual_seed(5 + static_cast<uint64_t>(comm.rank()));  // different on every rank
  auto model = small_cnn(Norm::none, comm);
  optim::MomentumSGD opt(model->named_parameters(), 0.1f);
  optim::DataParallel data_parallel(comm, opt);
  for (const auto& [name, p] : model->named_parameters()) {
    Tensor root = dist::bcast(comm, p.data(), 0);
    CAPTURE(name);
    CHECK(rel_l2_diff(p.data(), root) == 0.0);
  }
  const Tensor x = Tensor::full({2, 3, 5, 5}, 0.5f);
  auto loss = [&] { return softmax_cross_entropy(model->forward(Variable(x)), {0, 1}); };
  CHECK_THROWS_WITH_AS(opt.update(), doctest::Contains("got no gradient before update()"), Error);
  model->zero_grad();
  loss().backward();
  CHECK(data_parallel.buckets_started() == 1);  // before update(): it left during backward
  CHECK_THROWS_WITH_AS(loss().backward(), doctest::Contains("a second backward"), Error);
  opt.update();  // the first backward's buckets all left: the update goes through
  CHECK(data_parallel.buckets_started() == 0);
  CHECK_THROWS_WITH_AS(optim::DataParallel(comm, opt), doctest::Contains("already has a gradient"),
                       Error);
}

TEST_CASE("DataParallel: a step that left a parameter without a gradient fails, the next works") {
  const dist::Communicator comm = dist::Communicator::world();
  manual_seed(5);
  auto model = small_cnn(Norm::none, comm);
  optim::MomentumSGD opt(model->named_parameters(), 0.1f);
  optim::DataParallel data_parallel(comm, opt, 1);  // a bucket a parameter, the linear's first
  // Only the linear layer: its two buckets leave, the convolution's never fill.
  nn::Module& linear = *model->named_children().back().second;
  model->zero_grad();
  softmax_cross_entropy(linear.forward(Variable(Tensor::full({2, 100}, 0.1f))), {0, 1}).backward();
  CHECK(data_parallel.buckets_started() == 2);
  CHECK_THROWS_WITH_AS(opt.update(), doctest::Contains("parameter '0.W' got no gradient"), Error);
  CHECK(data_parallel.buckets_started() == 0);
  model->zero_grad();
  softmax_cross_entropy(model->forward(Variable(Tensor::full({2, 3, 5, 5}, 0.5f))), {0, 1})
      .backward();
  CHECK(data_parallel.buckets_started() == 4);
  opt.update();
  CHECK_THROWS_WITH_AS(optim::DataParallel(comm, opt, 0), doctest::Contains("bucket_bytes"), Error);
}

TEST_CASE("SyncBatchNormalization: one BN over the ranks' parts of the batch") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size(), r = comm.rank();
  // Parts of different sizes: rank j holds j + 1 images.
  const int64_t total = p * (p + 1) / 2, part = r + 1, first = r * (r + 1) / 2;
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    Rng rng(21);
    const Tensor x = random_tensor({total, 3, 2, 3}, rng), gamma = random_tensor({3}, rng);
    const Tensor projection = random_tensor({total, 3, 2, 3}, rng);
    const BatchNormConfig config{.relu = relu};
    Variable xs(x.clone(), true), gs(gamma.clone(), true), bs(Tensor::zeros({3}), true);
    Tensor mean_s = Tensor::zeros({3}), var_s = Tensor::ones({3});
    Variable ys = batch_normalization(xs, gs, bs, mean_s, var_s, true, config);
    sum(mul(ys, Variable(projection))).backward();

    Variable xp(slice_axis(x, 0, first, part), true), gp(gamma.clone(), true),
        bp(Tensor::zeros({3}), true);
    Tensor mean_p = Tensor::zeros({3}), var_p = Tensor::ones({3});
    Variable yp =
        batch_normalization(xp, gp, bp, mean_p, var_p, true, nn::synchronized(comm, config));
    sum(mul(yp, Variable(slice_axis(projection, 0, first, part)))).backward();

    CHECK(rel_l2_diff(yp.data(), slice_axis(ys.data(), 0, first, part)) < 1e-5);
    CHECK(rel_l2_diff(xp.grad(), slice_axis(xs.grad(), 0, first, part)) < 1e-5);
    CHECK(rel_l2_diff(mean_p, mean_s) < 1e-6);
    CHECK(rel_l2_diff(var_p, var_s) < 1e-6);
    // gamma's and beta's gradients are each part's own: their sum is the whole batch's.
    for (auto [mine, whole] : {std::pair{gp, gs}, std::pair{bp, bs}}) {
      Tensor g = mine.grad().clone();
      dist::allreduce(comm, g);
      CHECK(rel_l2_diff(g, whole.grad()) < 1e-5);
    }
    // Evaluation normalizes with the running statistics, no communication: the same as BN's.
    Variable ep = batch_normalization(Variable(xp.data()), gp, bp, mean_p, var_p, false,
                                      nn::synchronized(comm, config));
    Variable es = batch_normalization(Variable(x), gs, bs, mean_s, var_s, false, config);
    CHECK(rel_l2_diff(ep.data(), slice_axis(es.data(), 0, first, part)) < 1e-6);
  }
}

TEST_CASE("SyncBatchNormalization: gradients against finite differences across ranks") {
  // The checked loss is the sum of every rank's. First x, with gamma and beta the same on every
  // rank, as a data-parallel model has them: x's gradient is then whole (every rank's loss
  // depends on every x through the statistics). Then gamma and beta, each rank's own: their
  // gradients are each rank's part of the loss.
  const dist::Communicator comm = dist::Communicator::world();
  Rng shared(30), own(31 + static_cast<uint64_t>(comm.rank()));
  const Tensor gamma = random_tensor({2}, shared), beta = random_tensor({2}, shared);
  const Tensor x = random_tensor({2, 2, 2, 2}, own);
  Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
  // Without the fused ReLU, whose kink a finite difference may straddle (the equality test
  // above covers it, as tests/test_batch_normalization.cpp holds it to relu(bn(x))).
  {
    const BatchNormConfig config = nn::synchronized(comm);
    testing::check_gradients_across(comm,
                                    [&](const std::vector<Variable>& in) {
                                      return batch_normalization(in[0], Variable(gamma),
                                                                 Variable(beta), mean, var, true,
                                                                 config);
                                    },
                                    {x});
    testing::check_gradients_across(comm,
                                    [&](const std::vector<Variable>& in) {
                                      return batch_normalization(Variable(x), in[0], in[1], mean,
                                                                 var, true, config);
                                    },
                                    {random_tensor({2}, own), random_tensor({2}, own)});
  }
}

TEST_CASE("SyncBatchNormalization: the whole batch needs 2 values per channel") {
  const dist::Communicator comm = dist::Communicator::world();
  Tensor mean = Tensor::zeros({2}), var = Tensor::ones({2});
  // One value per rank: enough together unless the job is one rank.
  Variable x(Tensor::full({1, 2}, static_cast<float>(comm.rank())));
  auto run = [&] {
    return batch_normalization(x, Variable(Tensor::ones({2})), Variable(Tensor::zeros({2})), mean,
                               var, true, nn::synchronized(comm));
  };
  if (comm.size() == 1) {
    CHECK_THROWS_WITH_AS(
        run(), doctest::Contains("got 1 for x [1, 2] over the whole batch of a synchronized BN"),
        Error);
    return;
  }
  const double p = comm.size(), mean_of_ranks = (p - 1) / 2, var_of_ranks = (p * p - 1) / 12;
  const double want = (comm.rank() - mean_of_ranks) / std::sqrt(var_of_ranks + 2e-5);
  CHECK(run().data()[0] == doctest::Approx(want).epsilon(1e-5));
}

#include <doctest/doctest.h>

#include <limits>

#include "gradcheck.hpp"
#include "optim/data_parallel.hpp"

using namespace prism;

namespace {

// One parameter holding `values` with gradient `grad`.
struct Param {
  Variable p;
  NamedParameters named() const { return {{"p", p}}; }
  Param(std::vector<float> values, std::vector<float> grad) {
    const auto n = static_cast<int64_t>(values.size());
    p = Variable(Tensor::from({n}, values), true);
    p.add_grad(Tensor::from({n}, grad));
  }
};

}  // namespace

TEST_CASE("optimizers: MomentumSGD steps as Chainer's rule") {
  Param a({1.0f, -2.0f}, {0.5f, 1.0f});
  optim::MomentumSGD opt(a.named(), 0.1f, 0.9f);
  opt.update();  // v = -0.1 g; p += v
  CHECK(a.p.data()[0] == doctest::Approx(0.95f));
  CHECK(a.p.data()[1] == doctest::Approx(-2.1f));
  opt.update();  // v = 0.9 v - 0.1 g (same grad)
  CHECK(a.p.data()[0] == doctest::Approx(0.95f - 0.045f - 0.05f));
  CHECK(opt.t() == 2);
}

TEST_CASE("optimizers: two Adam steps against the hand formula") {
  Param a({1.0f}, {0.5f});
  optim::Adam opt(a.named(), 0.01f);
  double p = 1, m = 0, v = 0;
  for (int t = 1; t <= 2; ++t) {
    const double g = 0.5;
    m += 0.1 * (g - m);
    v += 0.001 * (g * g - v);
    const double step = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    p -= step * m / (std::sqrt(v) + 1e-8);
    opt.update();
    CHECK(a.p.data()[0] == doctest::Approx(p).epsilon(1e-6));
  }
}

TEST_CASE("optimizers: weight decay adds rate * p; parameters without a gradient stay put") {
  Param a({2.0f}, {1.0f});
  Variable idle(Tensor::from({1}, {7.0f}), true);
  optim::MomentumSGD opt({{"a", a.p}, {"idle", idle}}, 0.1f, 0.5f);
  opt.set_weight_decay(0.5f);
  opt.update();  // g = 1 + 0.5 * 2 = 2; v = -0.2; p = 2 - 0.2
  CHECK(a.p.data()[0] == doctest::Approx(1.8f));
  CHECK(a.p.grad().data()[0] == 1.0f);  // the stored gradient is left as it was
  opt.update();  // g = 1 + 0.5 * 1.8 = 1.9; v = 0.5 * -0.2 - 0.19; p = 1.8 - 0.29
  CHECK(a.p.data()[0] == doctest::Approx(1.51f));
  CHECK(idle.data()[0] == 7.0f);
  Param b({2.0f}, {1.0f});
  optim::Adam adam(b.named(), 0.1f);
  adam.set_weight_decay(1.0f);
  adam.update();  // g = 3 > 0: Adam's first step is -alpha * sign(g)
  CHECK(b.p.data()[0] == doctest::Approx(1.9f));
  CHECK_THROWS_AS(opt.set_weight_decay(-1.0f), Error);
  CHECK_THROWS_AS(opt.set_weight_decay(std::numeric_limits<float>::infinity()), Error);
  CHECK_THROWS_AS(optim::MomentumSGD(a.named(), 0.1f, 1.0f), Error);
  CHECK_THROWS_AS(optim::Adam(a.named(), 0.1f, 1.0f), Error);
}

TEST_CASE("optimizers: both solve a small classification problem") {
  // Two Gaussian blobs in 2-D, separable; loss must fall ten-fold.
  Rng rng(9);
  const auto [x, t] = prism::testing::two_blobs(64, 2.0f, rng);
  for (int which = 0; which < 2; ++which) {
    manual_seed(1);
    auto fc = std::make_shared<nn::Linear>(2, 2);
    nn::Classifier model(fc);
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0)
      opt = std::make_unique<optim::MomentumSGD>(model.named_parameters(), 0.1f);
    else
      opt = std::make_unique<optim::Adam>(model.named_parameters(), 0.05f);
    float first = 0;
    for (int step = 0; step < 200; ++step) {
      model.zero_grad();
      model(Variable(x), t).backward();
      if (step == 0) first = model.loss();
      opt->update();
    }
    CAPTURE(which);
    CHECK(model.loss() < first / 10);
    CHECK(model.accuracy() == 1.0f);
  }
}

TEST_CASE("optimizers: state round trip continues identically") {
  auto run = [](optim::Adam& opt, Variable& p, int steps) {
    for (int i = 0; i < steps; ++i) {
      p.zero_grad();
      p.add_grad(Tensor::from({2}, {p.data()[0], -1.0f}));
      opt.update();
    }
  };
  Variable p1(Tensor::from({2}, {1, 2}), true), p2(Tensor::from({2}, {1, 2}), true);
  optim::Adam a({{"p", p1}}), b({{"p", p2}});
  run(a, p1, 3);
  run(b, p2, 3);
  const NamedTensors saved = a.state();
  run(a, p1, 2);
  const std::vector<float> expect = p1.data().to_vector();
  // A fresh optimizer that loads the saved state and the saved parameters repeats the steps.
  Variable p3(p2.data().clone(), true);
  optim::Adam c({{"p", p3}});
  c.load_state(saved);
  run(c, p3, 2);
  CHECK(p3.data().to_vector() == expect);
  CHECK(c.t() == 5);
  NamedTensors wrong = saved;
  wrong[1].first = "q/t";
  CHECK_THROWS_WITH_AS(c.load_state(wrong), doctest::Contains("'q/t'"), Error);
}

TEST_CASE("optimizers: DataParallel alone (no MPI) updates as the optimizer does") {
  Variable a(Tensor::from({3}, {1, 2, 3}), true), b(Tensor::from({3}, {1, 2, 3}), true);
  optim::MomentumSGD plain({{"p", a}}, 0.1f), wrapped({{"p", b}}, 0.1f);
  optim::DataParallel data_parallel(dist::Communicator(), wrapped, 4);
  auto step = [](const Variable& v, optim::Optimizer& optimizer) {
    v.zero_grad();
    sum(mul(v, v)).backward();
    optimizer.update();
  };
  for (int i = 0; i < 2; ++i) {
    step(a, plain);
    step(b, wrapped);
  }
  CHECK(a.data().to_vector() == b.data().to_vector());
}

#include <doctest/doctest.h>

#include <algorithm>

#include "gradcheck.hpp"
#include "isa_scope.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::random_tensor;

namespace {

// Per-channel mean and biased variance of x [N, C] or [N, C, H, W], in double.
std::vector<std::pair<double, double>> channel_stats(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
  std::vector<std::pair<double, double>> out;
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k)
        sum += x[(i * c + ch) * s + k];
    const double mean = sum / double(n * s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k)
        sq += (x[(i * c + ch) * s + k] - mean) * (x[(i * c + ch) * s + k] - mean);
    out.emplace_back(mean, sq / double(n * s));
  }
  return out;
}

}  // namespace

TEST_CASE("batch_normalization: train-mode gradients for x, gamma, beta") {
  Rng rng(11);
  for (Shape shape : {Shape{3, 5}, Shape{7, 1}, Shape{2, 4}, Shape{3, 5, 3, 2}, Shape{1, 3, 2, 3},
                      Shape{2, 2, 1, 1}}) {
    INFO("x " << to_string(shape));
    const int64_t c = shape[1];
    Tensor x = random_tensor(shape, rng, -1.0f, 2.0f);
    Tensor gamma = random_tensor({c}, rng, 0.5f, 1.5f), beta = random_tensor({c}, rng);
    Tensor rm({c}), rv = Tensor::ones({c});
    check_gradients(
        [rm, rv](auto& v) { return batch_normalization(v[0], v[1], v[2], rm, rv, true); },
        {x, gamma, beta});
  }
}

TEST_CASE("batch_normalization: normalized output and running statistics") {
  Rng rng(12);
  Tensor x = random_tensor({4, 3, 3, 5}, rng, 2.0f, 5.0f);  // off-centre: the mean matters
  Tensor rm = random_tensor({3}, rng), rv = random_tensor({3}, rng, 0.5f, 2.0f);
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  BatchNormConfig config;
  config.decay = 0.8f;
  Variable y = batch_normalization(Variable(x), Variable(Tensor::ones({3})),
                                   Variable(Tensor::zeros({3})), rm, rv, true, config);
  for (auto [mean, var] : channel_stats(y.data())) {
    CHECK(std::abs(mean) < 1e-5);
    CHECK(var == doctest::Approx(1.0).epsilon(1e-3));
  }
  // running = decay * running + (1 - decay) * statistic, the variance unbiased (m = 60).
  auto stats = channel_stats(x);
  for (int64_t ch = 0; ch < 3; ++ch) {
    CHECK(rm[ch] == doctest::Approx(0.8 * rm0[ch] + 0.2 * stats[ch].first).epsilon(1e-5));
    CHECK(rv[ch] ==
          doctest::Approx(0.8 * rv0[ch] + 0.2 * stats[ch].second * 60.0 / 59.0).epsilon(1e-5));
  }

  // A hand example: channel 0 holds 1, 2, 3, 4 (mean 2.5, variance 1.25, unbiased 5/3), channel
  // 1 holds 0, 0, 0, 8 (mean 2, variance 12, unbiased 16).
  Tensor h = Tensor::from({4, 2}, {1, 0, 2, 0, 3, 0, 4, 8});
  Tensor hm({2}), hv = Tensor::ones({2});
  Variable hy = batch_normalization(Variable(h), Variable(Tensor::from({2}, {2, 1})),
                                    Variable(Tensor::from({2}, {0, 10})), hm, hv, true);
  CHECK(hm[0] == doctest::Approx(0.25));
  CHECK(hm[1] == doctest::Approx(0.2));
  CHECK(hv[0] == doctest::Approx(0.9 + 0.1 * 5.0 / 3.0));
  CHECK(hv[1] == doctest::Approx(0.9 + 0.1 * 16.0));
  // y = gamma * (x - mean) / sqrt(var + eps) + beta
  CHECK(hy.data()[0] == doctest::Approx(2 * (1 - 2.5) / std::sqrt(1.25 + 2e-5)));
  CHECK(hy.data()[7] == doctest::Approx(6 / std::sqrt(12 + 2e-5) + 10));
}

TEST_CASE("batch_normalization: eval mode uses the running statistics as constants") {
  Rng rng(13);
  Tensor x = random_tensor({3, 5, 3, 2}, rng);
  Tensor gamma = random_tensor({5}, rng, 0.5f, 1.5f), beta = random_tensor({5}, rng);
  Tensor rm = random_tensor({5}, rng), rv = random_tensor({5}, rng, 0.5f, 2.0f);
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  Variable y = batch_normalization(Variable(x), Variable(gamma), Variable(beta), rm, rv, false);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = (i / 6) % 5;
    CHECK(y.data()[i] ==
          doctest::Approx(gamma[ch] * (x[i] - rm[ch]) / std::sqrt(rv[ch] + 2e-5) + beta[ch]));
  }
  CHECK(rm.to_vector() == rm0.to_vector());  // eval leaves the running statistics alone
  CHECK(rv.to_vector() == rv0.to_vector());
  check_gradients(
      [rm, rv](auto& v) { return batch_normalization(v[0], v[1], v[2], rm, rv, false); },
      {x, gamma, beta});
  check_gradients(
      [rm, rv](auto& v) { return batch_normalization(v[0], v[1], v[2], rm, rv, false); },
      {random_tensor({4, 5}, rng), gamma, beta});

  // dx = gamma / sqrt(running_var + eps) * dy exactly, unlike train mode.
  Variable xv(x, true);
  batch_normalization(xv, Variable(gamma), Variable(beta), rm, rv, false)
      .backward(Tensor::ones(x.shape()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = (i / 6) % 5;
    CHECK(xv.grad()[i] == doctest::Approx(gamma[ch] / std::sqrt(rv[ch] + 2e-5)));
  }
  // One value per channel is fine in eval mode.
  CHECK(
      batch_normalization(Variable(Tensor({1, 5})), Variable(gamma), Variable(beta), rm, rv, false)
          .shape() == Shape{1, 5});
}

TEST_CASE("batch_normalization: misuse is an error naming the shapes") {
  Tensor c3 = Tensor::ones({3}), c4 = Tensor::ones({4});
  Variable g3(c3), g4(c4);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3, 4})), g3, g3, c3, c3, true),
                       doctest::Contains("x must be [N, C] or [N, C, H, W], got [2, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3})), g4, g3, c3, c3, true),
                       doctest::Contains("gamma must be [3] for x [2, 3], got [4]"), Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3})), g3, g4, c3, c3, true),
                       doctest::Contains("beta must be [3]"), Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3})), g3, g3, c4, c3, false),
                       doctest::Contains("running_mean must be [3]"), Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3})), g3, g3, c3, Tensor(), true),
                       doctest::Contains("running_var must be [3] for x [2, 3], got undefined"),
                       Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({2, 3})), Variable(), g3, c3, c3, true),
                       doctest::Contains("gamma must be [3]"), Error);
  CHECK_THROWS_WITH_AS(batch_normalization(Variable(Tensor({1, 3})), g3, g3, c3, c3, true),
                       doctest::Contains("at least 2 values per channel (N * H * W), got 1"),
                       Error);
  CHECK_THROWS_WITH_AS(
      batch_normalization(Variable(Tensor({1, 3, 1, 1})), g3, g3, c3, c3, true),
      doctest::Contains("at least 2 values per channel (N * H * W), got 1 for x [1, 3, 1, 1]"),
      Error);
  CHECK_THROWS_WITH_AS(
      batch_normalization(Variable(Tensor({2, 3})), g3, g3, c3, c3, true, {0.9f, 0}),
      doctest::Contains("needs eps > 0"), Error);
  CHECK_THROWS_AS(batch_normalization(Variable(), g3, g3, c3, c3, true), Error);
  // One limit for the op and the module: decay in [0, 1] (1 freezes the running statistics).
  for (float decay : {-0.1f, 1.5f}) {
    CHECK_THROWS_WITH_AS(
        batch_normalization(Variable(Tensor({2, 3})), g3, g3, c3, c3, true, {decay, 1e-5f}),
        doctest::Contains("decay in [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(nn::BatchNormalization(3, decay),
                         doctest::Contains("BatchNormalization: needs eps > 0 and decay in [0, 1]"),
                         Error);
  }
  nn::BatchNormalization frozen(3, 1.0f);
  frozen(Variable(Tensor::from({2, 3}, {1, 2, 3, 5, 6, 7})));
  CHECK(frozen.named_buffers()[0].second.to_vector() == std::vector<float>{0, 0, 0});
  // A failed call leaves the running statistics untouched.
  CHECK(c3.to_vector() == std::vector<float>{1, 1, 1});
}

TEST_CASE("batch_normalization: the fused ReLU is relu(batch_normalization(x)), both ways") {
  Rng rng(15);
  const BatchNormConfig fused{.relu = true};
  for (bool train : {true, false}) {
    CAPTURE(train);
    // Rows of the mask of 35, 1, 16 and 81 bits: ragged and whole bytes.
    for (const Shape& shape :
         {Shape{6, 3, 5, 7}, Shape{9, 4}, Shape{5, 3, 4, 4}, Shape{2, 3, 9, 9}}) {
      Tensor x = random_tensor(shape, rng), gy = random_tensor(shape, rng);
      Tensor gamma = random_tensor({shape[1]}, rng), beta = random_tensor({shape[1]}, rng);
      Tensor rm = random_tensor({shape[1]}, rng, -0.5f, 0.5f);
      Tensor rv = random_tensor({shape[1]}, rng, 0.5f, 2.0f);
      auto run = [&](bool fuse) {
        Tensor rm_run = rm.clone(), rv_run = rv.clone();
        Variable xv(x, true), gv(gamma, true), bv(beta, true);
        Variable y = fuse ? batch_normalization(xv, gv, bv, rm_run, rv_run, train, fused)
                          : relu(batch_normalization(xv, gv, bv, rm_run, rv_run, train));
        y.backward(gy);
        return std::vector<Tensor>{y.data(), xv.grad(), gv.grad(), bv.grad(), rm_run, rv_run};
      };
      const std::vector<Tensor> got = run(true), want = run(false);
      for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(prism::testing::rel_error(got[i], want[i]) < 1e-5);
      }
    }
    // Finite differences step over the ReLU's kink, so the check uses few values per channel
    // and puts each channel's zero (beta with gamma = 1) in the middle of the widest gap
    // between its normalized inputs.
    for (const Shape& shape : {Shape{4, 2, 1, 3}, Shape{9, 3}}) {
      Tensor x = random_tensor(shape, rng);
      const int64_t n = shape[0], c = shape[1], s = x.numel() / (n * c);
      Tensor gamma = Tensor::ones({c}), beta({c});
      Tensor rm = random_tensor({c}, rng, -0.2f, 0.2f), rv = random_tensor({c}, rng, 0.5f, 1.0f);
      const auto stats = channel_stats(x);
      for (int64_t ch = 0; ch < c; ++ch) {
        const double mu = train ? stats[ch].first : rm[ch];
        const double sd = std::sqrt((train ? stats[ch].second : rv[ch]) + 2e-5);
        std::vector<double> xhat;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t k = 0; k < s; ++k)
            xhat.push_back((x[(i * c + ch) * s + k] - mu) / sd);
        std::sort(xhat.begin(), xhat.end());
        size_t widest = 0;
        for (size_t j = 1; j + 1 < xhat.size(); ++j)
          if (xhat[j + 1] - xhat[j] > xhat[widest + 1] - xhat[widest]) widest = j;
        beta[ch] = static_cast<float>(-(xhat[widest] + xhat[widest + 1]) / 2);
      }
      check_gradients(
          [&](auto& v) {
            Tensor rm_run = rm.clone(), rv_run = rv.clone();
            return batch_normalization(v[0], v[1], v[2], rm_run, rv_run, train, fused);
          },
          {x, gamma, beta});
    }
  }
}

TEST_CASE("batch_normalization: threaded channels give bitwise the same result") {
  Rng rng(14);
  Tensor x = random_tensor({8, 16, 16, 16}, rng), gy = random_tensor(x.shape(), rng);  // threaded
  Tensor gamma = random_tensor({16}, rng), beta = random_tensor({16}, rng);
  auto run = [&](int threads, bool relu) {
    const int saved = num_threads();
    set_num_threads(threads);
    Tensor rm({16}), rv = Tensor::ones({16});
    Variable xv(x, true);
    Variable y = batch_normalization(xv, Variable(gamma), Variable(beta), rm, rv, true,
                                     BatchNormConfig{.relu = relu});
    y.backward(gy);
    set_num_threads(saved);
    return std::vector<std::vector<float>>{y.data().to_vector(), xv.grad().to_vector(),
                                           rm.to_vector(), rv.to_vector()};
  };
  for (bool relu : {false, true}) {
    CAPTURE(relu);
    CHECK(run(1, relu) == run(2, relu));
  }
}

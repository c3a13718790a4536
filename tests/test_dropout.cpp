#include <doctest/doctest.h>

#include <cmath>

#include "core/parallel.hpp"
#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::random_tensor;

TEST_CASE("dropout: drops about `ratio` of a big tensor and scales the rest") {
  Rng rng(21);
  Tensor x = random_tensor({400, 250}, rng, 1.0f, 2.0f);  // never 0, so a 0 means dropped
  for (float ratio : {0.1f, 0.5f, 0.75f}) {
    INFO("ratio " << ratio);
    const float scale = 1.0f / (1.0f - ratio);
    Variable y = dropout(Variable(x), ratio, true, rng);
    REQUIRE(y.shape() == x.shape());
    int64_t dropped = 0, bad = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (y.data()[i] == 0.0f)
        ++dropped;
      else if (y.data()[i] != x[i] * scale)
        ++bad;
    }
    CHECK(bad == 0);
    // 100000 draws: the fraction's standard deviation is below 0.0016.
    CHECK(std::abs(double(dropped) / double(x.numel()) - ratio) < 0.01);
  }
}

TEST_CASE("dropout: eval mode and ratio 0 are the identity") {
  Rng rng(22);
  Variable x(random_tensor({3, 4}, rng), true);
  const Rng::State before = rng.state();
  CHECK(dropout(x, 0.5f, false, rng).same_node(x));
  CHECK(dropout(x, 0.0f, true, rng).same_node(x));
  CHECK(rng.state() == before);  // nothing drawn
}

TEST_CASE("dropout: the same seed gives the same mask, the stream moves on") {
  Rng rng(23);
  Variable x(random_tensor({5, 7, 3}, rng, 1.0f, 2.0f));
  Rng a(99), b(99), c(100);
  const std::vector<float> first = dropout(x, 0.4f, true, a).data().to_vector();
  CHECK(dropout(x, 0.4f, true, b).data().to_vector() == first);
  CHECK(dropout(x, 0.4f, true, c).data().to_vector() != first);
  CHECK(dropout(x, 0.4f, true, a).data().to_vector() != first);  // a has advanced
}

TEST_CASE(
    "dropout: element i's fate is half of counter_hash(key, i / 2), whatever the thread count") {
  Rng rng(26);
  Tensor x = random_tensor({3, 17, 33, 35}, rng, 1.0f, 2.0f);  // 58905: threaded, odd tail
  const float ratio = 0.3f;
  const uint64_t key = Rng(5).next_u64();  // what the op takes from its generator
  const uint64_t threshold = static_cast<uint64_t>(0.3 * 4294967296.0);
  std::vector<std::vector<float>> runs;
  const int saved = num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Rng mask_rng(5);
    runs.push_back(dropout(Variable(x), ratio, true, mask_rng).data().to_vector());
  }
  set_num_threads(saved);
  CHECK(runs[1] == runs[0]);
  CHECK(runs[2] == runs[0]);
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {  // each element drawn alone
    const uint64_t h = counter_hash(key, static_cast<uint64_t>(i / 2));
    const bool keep = (i % 2 ? h & 0xffffffffULL : h >> 32) >= threshold;
    wrong += (runs[0][static_cast<size_t>(i)] != 0.0f) != keep;
  }
  CHECK(wrong == 0);
}

TEST_CASE("dropout: the gradient is the same scaled mask") {
  Rng rng(24);
  Tensor t = random_tensor({3, 5, 2}, rng, 1.0f, 2.0f);
  // A generator reseeded inside f draws the identical mask on every call.
  check_gradients(
      [](auto& v) {
        Rng mask_rng(7);
        return dropout(v[0], 0.3f, true, mask_rng);
      },
      {t});
  Variable x(t, true);
  Rng mask_rng(8);
  Variable y = dropout(x, 0.3f, true, mask_rng);
  y.backward(Tensor::full(t.shape(), 2.0f));
  const float scale = 1.0f / 0.7f;
  int64_t kept = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const bool keep = y.data()[i] != 0.0f;
    kept += keep;
    CHECK(x.grad()[i] == (keep ? 2.0f * scale : 0.0f));
  }
  CHECK(kept > 0);
  CHECK(kept < t.numel());
}

TEST_CASE("dropout: ratio outside [0, 1) is an error") {
  Rng rng(25);
  Variable x(Tensor({2, 2}));
  CHECK_THROWS_WITH_AS(dropout(x, 1.0f, true, rng),
                       doctest::Contains("dropout: ratio must be in [0, 1), got 1"), Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1f, false, rng),
                       doctest::Contains("dropout: ratio must be in [0, 1), got -0.1"), Error);
  CHECK_THROWS_AS(dropout(x, std::nanf(""), true, rng), Error);
  CHECK_THROWS_AS(dropout(Variable(), 0.5f, true, rng), Error);
}

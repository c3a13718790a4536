#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;

namespace {

// Distinct values (a shuffled ramp), so no window has a tied maximum and the finite
// difference of the max is well defined.
Tensor distinct_tensor(const Shape& shape, Rng& rng) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = 0.1f * static_cast<float>(i) - 1.0f;
  for (int64_t i = t.numel() - 1; i > 0; --i)
    std::swap(t[i], t[static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)))]);
  return t;
}

}  // namespace

TEST_CASE("max_pooling_2d: hand examples, default stride and padding") {
  Variable x(Tensor::from({1, 1, 4, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));
  CHECK(max_pooling_2d(x, 2).data().to_vector() == std::vector<float>{6, 8, 14, 16});
  // ksize 3, stride 2: cover_all=false keeps only full windows -> 1x1.
  CHECK(max_pooling_2d(x, 3, 2).data().to_vector() == std::vector<float>{11});
  // pad 1 with negative inputs: the padding (never a candidate) does not win.
  Variable neg(Tensor::from({1, 1, 2, 2}, {-4, -3, -2, -1}));
  CHECK(max_pooling_2d(neg, 2, 1, 1).data().to_vector() ==
        std::vector<float>{-4, -3, -3, -2, -1, -1, -2, -1, -1});
}

TEST_CASE("max_pooling_2d: gradient routes to the arg-max, checked by finite differences") {
  Rng rng(21);
  struct Case {
    Shape shape;
    int64_t ksize, stride, pad;
  };
  for (const Case& c : {Case{{1, 1, 4, 4}, 2, 0, 0}, Case{{2, 3, 5, 7}, 3, 2, 1},
                        Case{{3, 2, 6, 5}, 2, 1, 0}, Case{{1, 2, 7, 7}, 3, 3, 2}}) {
    INFO("x " << to_string(c.shape) << " ksize " << c.ksize << " stride " << c.stride << " pad "
              << c.pad);
    Tensor x = distinct_tensor(c.shape, rng);
    check_gradients([&](auto& v) { return max_pooling_2d(v[0], c.ksize, c.stride, c.pad); }, {x},
                    {.eps = 1e-3});
  }
  // Overlapping windows that share a maximum send it the sum of their gradients.
  Variable x(Tensor::from({1, 1, 3, 3}, {0, 0, 0, 0, 9, 0, 0, 0, 0}), true);
  Variable z = max_pooling_2d(x, 2, 1);
  CHECK(z.data().to_vector() == std::vector<float>{9, 9, 9, 9});
  z.backward(Tensor::from({1, 1, 2, 2}, {1, 2, 3, 4}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 0, 0, 10, 0, 0, 0, 0});
}

TEST_CASE("max_pooling_2d: bad arguments are errors") {
  Variable x(Tensor({1, 2, 4, 4}));
  CHECK_THROWS_WITH_AS(max_pooling_2d(Variable(Tensor({2, 4, 4})), 2),
                       doctest::Contains("needs x [N, C, H, W], got [2, 4, 4]"), Error);
  CHECK_THROWS_WITH_AS(max_pooling_2d(x, 0), doctest::Contains("ksize 0"), Error);
  CHECK_THROWS_WITH_AS(max_pooling_2d(x, 2, -1), doctest::Contains("stride -1"), Error);
  CHECK_THROWS_WITH_AS(max_pooling_2d(x, 2, 2, 2), doctest::Contains("pad 2"), Error);
  CHECK_THROWS_WITH_AS(max_pooling_2d(x, 5), doctest::Contains("larger than the padded input"),
                       Error);
}

#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::random_tensor;

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
  for (const Case& c :
       {Case{{1, 1, 4, 4}, 2, 0, 0}, Case{{2, 3, 5, 7}, 2, 2, 0}, Case{{2, 3, 5, 7}, 3, 2, 1},
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

TEST_CASE("max_pooling_2d: the 2x2 path against a naive loop, with odd sizes and ties") {
  Rng rng(22);
  for (const Shape& shape : {Shape{3, 4, 9, 7}, Shape{2, 70, 16, 16}}) {  // the second threaded
    CAPTURE(to_string(shape));
    const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
    Tensor t = random_tensor(shape, rng);
    for (int64_t i = 0; i < t.numel(); ++i)
      t[i] = std::round(t[i] * 2);  // 5 values: many ties
    Variable x(t, true);
    Variable y = max_pooling_2d(x, 2);
    Tensor gy = random_tensor(y.shape(), rng);
    y.backward(gy);
    const int64_t ho = h / 2, wo = w / 2;
    Tensor want_y({shape[0], shape[1], ho, wo}), want_g(shape);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          int64_t best = (p * h + 2 * oh) * w + 2 * ow;  // the first maximum in scan order
          for (int64_t i : {0, 1})
            for (int64_t j : {0, 1})
              if (t[(p * h + 2 * oh + i) * w + 2 * ow + j] > t[best])
                best = (p * h + 2 * oh + i) * w + 2 * ow + j;
          const int64_t out = (p * ho + oh) * wo + ow;
          want_y[out] = t[best];
          want_g[best] += gy[out];
        }
    CHECK(y.data().to_vector() == want_y.to_vector());
    CHECK(x.grad().to_vector() == want_g.to_vector());
  }
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

#include <doctest/doctest.h>

#include <cmath>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::max_rel_diff;
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

TEST_CASE("max_pooling_2d: windows, strides and pads of their own in each dimension") {
  Rng rng(23);
  Variable x(Tensor::from({1, 1, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  // 3 rows by 2 columns, every 2 columns: one row of outputs.
  CHECK(max_pooling_2d(x, {3, 2}, {1, 2}).data().to_vector() == std::vector<float>{10, 12});
  struct Case {
    Shape shape;
    Size2 ksize, stride, pad;
  };
  for (const Case& c :
       {Case{{2, 3, 5, 7}, {2, 3}, {1, 2}, {1, 0}}, Case{{1, 2, 6, 5}, {3, 1}, {2, 1}, {0, 0}}}) {
    INFO("x " << to_string(c.shape) << " ksize " << to_string(c.ksize));
    Tensor t = distinct_tensor(c.shape, rng);
    check_gradients([&](auto& v) { return max_pooling_2d(v[0], c.ksize, c.stride, c.pad); }, {t},
                    {.eps = 1e-3});
  }
}

namespace {

// The mean of each window by its definition, for any window, stride, pad and count.
Tensor naive_average(const Tensor& x, Size2 k, Size2 s, Size2 pad, PadCount count) {
  const int64_t planes = x.shape()[0] * x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const int64_t ho = (h + 2 * pad.h - k.h) / s.h + 1, wo = (w + 2 * pad.w - k.w) / s.w + 1;
  Tensor y({x.shape()[0], x.shape()[1], ho, wo});
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        double sum = 0;
        int64_t inside = 0;
        for (int64_t i = 0; i < k.h; ++i)
          for (int64_t j = 0; j < k.w; ++j) {
            const int64_t ih = oh * s.h - pad.h + i, iw = ow * s.w - pad.w + j;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            sum += x[(p * h + ih) * w + iw];
            ++inside;
          }
        y[(p * ho + oh) * wo + ow] =
            static_cast<float>(sum / double(count == PadCount::include ? k.h * k.w : inside));
      }
  return y;
}

}  // namespace

TEST_CASE("average_pooling_2d: a hand example, padding counted and not") {
  Variable x(Tensor::from({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  CHECK(average_pooling_2d(x, 2, 1).data().to_vector() == std::vector<float>{3, 4, 6, 7});
  // 2x2 windows every 2 on the input padded by 1: the windows hold 1, 2 + 3, 4 + 7 and
  // 5 + 6 + 8 + 9, of 1, 2, 2 and 4 inputs.
  CHECK(average_pooling_2d(x, 2, 2, 1).data().to_vector() ==
        std::vector<float>{0.25f, 1.25f, 2.75f, 7});
  CHECK(average_pooling_2d(x, 2, 2, 1, PadCount::exclude).data().to_vector() ==
        std::vector<float>{1, 2.5f, 5.5f, 7});
}

TEST_CASE("average_pooling_2d: against its definition, and finite differences") {
  Rng rng(24);
  struct Case {
    Shape shape;
    Size2 ksize, stride, pad;
  };
  for (const Case& c : {Case{{2, 3, 5, 7}, 2, 0, 0}, Case{{2, 3, 5, 7}, 3, 2, 1},
                        Case{{1, 2, 7, 6}, {3, 2}, {2, 1}, {1, 1}},
                        Case{{3, 1, 4, 9}, {1, 5}, {1, 3}, {0, 2}}, Case{{2, 70, 9, 9}, 3, 1, 1}}) {
    for (PadCount count : {PadCount::include, PadCount::exclude}) {
      INFO("x " << to_string(c.shape) << " ksize " << to_string(c.ksize) << " stride "
                << to_string(c.stride) << " pad " << to_string(c.pad) << " include "
                << (count == PadCount::include));
      const Tensor t = random_tensor(c.shape, rng);
      const Size2 stride{c.stride.h ? c.stride.h : c.ksize.h, c.stride.w ? c.stride.w : c.ksize.w};
      CHECK(max_rel_diff(average_pooling_2d(Variable(t), c.ksize, c.stride, c.pad, count).data(),
                         naive_average(t, c.ksize, stride, c.pad, count)) < 1e-6);
      if (c.shape[1] < 70)  // the big one is for the threads
        check_gradients(
            [&](auto& v) { return average_pooling_2d(v[0], c.ksize, c.stride, c.pad, count); },
            {t});
    }
  }
}

TEST_CASE("global_average_pooling_2d: the mean of each plane, [N, C]") {
  Variable x(Tensor::from({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40}));
  Variable y = global_average_pooling_2d(x);
  CHECK(y.shape() == Shape{1, 2});
  CHECK(y.data().to_vector() == std::vector<float>{2.5f, 25});
  Rng rng(25);
  for (const Shape& shape : {Shape{2, 3, 5, 7}, Shape{3, 2, 1, 1}, Shape{1, 4, 8, 8}})
    check_gradients([](auto& v) { return global_average_pooling_2d(v[0]); },
                    {random_tensor(shape, rng)});
  // It is average_pooling_2d over the whole plane.
  const Tensor t = random_tensor({2, 3, 5, 7}, rng);
  CHECK(max_rel_diff(global_average_pooling_2d(Variable(t)).data(),
                     average_pooling_2d(Variable(t), {5, 7}).data().reshape({2, 3})) < 1e-6);
}

TEST_CASE("average and global average pooling: bad arguments are errors") {
  Variable x(Tensor({1, 2, 4, 4}));
  CHECK_THROWS_WITH_AS(average_pooling_2d(Variable(Tensor({2, 4, 4})), 2),
                       doctest::Contains("average_pooling_2d: needs x [N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(average_pooling_2d(x, {2, 0}), doctest::Contains("ksize (2, 0)"), Error);
  CHECK_THROWS_WITH_AS(average_pooling_2d(x, 2, 2, {0, 2}), doctest::Contains("pad (0, 2)"), Error);
  CHECK_THROWS_WITH_AS(average_pooling_2d(x, {2, 5}),
                       doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(global_average_pooling_2d(Variable(Tensor({2, 4}))),
                       doctest::Contains("global_average_pooling_2d: needs x [N, C, H, W]"), Error);
}

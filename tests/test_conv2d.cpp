#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace prism;
using prism::testing::check_gradients;
using prism::testing::max_rel_diff;
using prism::testing::random_tensor;

namespace {

// The definition, written independently of the kernel: 7 loops with a bounds test per tap.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, Size2 stride, Size2 pad,
                    Size2 dil = 1) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t k = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t ho = (h + 2 * pad.h - dil.h * (kh - 1) - 1) / stride.h + 1;
  const int64_t wo = (wd + 2 * pad.w - dil.w * (kw - 1) - 1) / stride.w + 1;
  Tensor y({n, k, ho, wo});
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ik = 0; ik < k; ++ik)
      for (int64_t oh = 0; oh < ho; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          double acc = b.defined() ? b[ik] : 0.0;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ih = oh * stride.h + i * dil.h - pad.h;
                const int64_t iw = ow * stride.w + j * dil.w - pad.w;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += double(x[((in * c + ic) * h + ih) * wd + iw]) *
                       w[((ik * c + ic) * kh + i) * kw + j];
              }
          y[((in * k + ik) * ho + oh) * wo + ow] = static_cast<float>(acc);
        }
  return y;
}

struct Case {
  int64_t n, c, h, w, k, kh, kw;
  Size2 stride, pad, dilation = 1;
};

// Odd sizes, stride 1 and 2, pads 0/1/2, 1x1, 3x3, 5x5 and non-square kernels, batch 1 and 3;
// strides and pads that differ between rows and columns; dilations 2 and 3, alone, with a
// stride, and different between rows and columns.
const Case kCases[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0},
    {1, 3, 5, 7, 5, 3, 3, 1, 1},
    {3, 2, 6, 5, 4, 3, 3, 2, 1},
    {2, 3, 7, 7, 2, 5, 5, 1, 2},
    {1, 5, 4, 6, 3, 1, 1, 2, 0},
    {2, 2, 5, 4, 3, 2, 3, 1, 0},
    {1, 3, 6, 6, 5, 3, 3, 2, 2},
    {3, 1, 3, 3, 2, 3, 3, 1, 1},
    {1, 4, 9, 8, 3, 5, 5, 2, 2},
    {2, 3, 7, 9, 4, 3, 5, {1, 2}, {2, 0}},
    {1, 2, 8, 5, 3, 1, 3, {3, 1}, {0, 1}},
    {2, 2, 7, 6, 3, 3, 3, 1, 2, 2},
    {1, 3, 9, 8, 2, 3, 2, 2, {1, 0}, {3, 2}},
    {1, 2, 10, 9, 3, 3, 3, {2, 1}, {3, 1}, {2, 3}},
    {2, 1, 6, 7, 2, 2, 2, 1, 0, {1, 4}},
};

std::string describe(const Case& s) {
  return "N=" + std::to_string(s.n) + " C=" + std::to_string(s.c) + " H=" + std::to_string(s.h) +
         " W=" + std::to_string(s.w) + " K=" + std::to_string(s.k) + " kernel " +
         std::to_string(s.kh) + "x" + std::to_string(s.kw) + " stride " + to_string(s.stride) +
         " pad " + to_string(s.pad) + " dilation " + to_string(s.dilation);
}

}  // namespace

TEST_CASE("conv2d: a hand-computed example") {
  // 1x1x3x3 input, 2x2 kernel of ones plus bias 0.5, stride 1, no pad: sums of 2x2 windows.
  Variable x(Tensor::from({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  Variable w(Tensor::ones({1, 1, 2, 2}));
  Variable b(Tensor::from({1}, {0.5f}));
  CHECK(conv2d(x, w, b).data().to_vector() == std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f});
  // pad 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1).
  CHECK(conv2d(x, w, Variable(), 2, 1).data().to_vector() == std::vector<float>{1, 5, 11, 28});
}

TEST_CASE("conv2d: forward equals the direct formula on awkward shapes") {
  Rng rng(11);
  for (const Case& s : kCases) {
    INFO(describe(s));
    Tensor x = random_tensor({s.n, s.c, s.h, s.w}, rng);
    Tensor w = random_tensor({s.k, s.c, s.kh, s.kw}, rng);
    Tensor b = random_tensor({s.k}, rng);
    Tensor y = conv2d(Variable(x), Variable(w), Variable(b), s.stride, s.pad, 1, s.dilation).data();
    CHECK(max_rel_diff(y, naive_conv2d(x, w, b, s.stride, s.pad, s.dilation)) < 1e-5);
    Tensor y0 = conv2d(Variable(x), Variable(w), Variable(), s.stride, s.pad, 1, s.dilation).data();
    CHECK(max_rel_diff(y0, naive_conv2d(x, w, Tensor(), s.stride, s.pad, s.dilation)) < 1e-5);
  }
}

TEST_CASE("conv2d: gradients of x, w and b against finite differences") {
  Rng rng(12);
  for (const Case& s : kCases) {
    if (s.n * s.c * s.h * s.w > 200) continue;  // keep the finite differences quick
    INFO(describe(s));
    Tensor x = random_tensor({s.n, s.c, s.h, s.w}, rng);
    Tensor w = random_tensor({s.k, s.c, s.kh, s.kw}, rng);
    Tensor b = random_tensor({s.k}, rng);
    check_gradients(
        [&](auto& v) { return conv2d(v[0], v[1], v[2], s.stride, s.pad, 1, s.dilation); },
        {x, w, b});
    check_gradients(
        [&](auto& v) { return conv2d(v[0], v[1], Variable(), s.stride, s.pad, 1, s.dilation); },
        {x, w});
  }
}

TEST_CASE("conv2d: deterministic, and independent of the thread count") {
  Rng rng(13);
  Tensor x = random_tensor({4, 6, 9, 9}, rng), w = random_tensor({5, 6, 3, 3}, rng);
  auto run = [&] {
    Variable vx(x.clone(), true), vw(w.clone(), true);
    Variable y = conv2d(vx, vw, Variable(), 1, 1);
    y.backward(Tensor::ones(y.shape()));
    return std::vector<std::vector<float>>{y.data().to_vector(), vx.grad().to_vector(),
                                           vw.grad().to_vector()};
  };
  const int saved = num_threads();
  set_num_threads(1);
  auto one = run();
  set_num_threads(2);
  auto two = run(), again = run();
  set_num_threads(saved);
  CHECK(one == two);
  CHECK(two == again);
}

TEST_CASE("conv2d: bad shapes and arguments are errors naming them") {
  Variable x(Tensor({2, 3, 5, 5})), w(Tensor({4, 3, 3, 3}));
  CHECK_THROWS_WITH_AS(conv2d(Variable(Tensor({3, 5, 5})), w),
                       doctest::Contains("needs x [N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Variable(Tensor({4, 2, 3, 3}))),
                       doctest::Contains("x [2, 3, 5, 5] has 3 channels but w [4, 2, 3, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Variable(Tensor({3}))), doctest::Contains("bias [3]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Variable(Tensor({4, 3, 7, 7}))),
                       doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Variable(), 0), doctest::Contains("stride must be at least 1"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Variable(), 1, -1), doctest::Contains("pad must be"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Variable(), 1, 1, 1, {1, 0}),
                       doctest::Contains("dilation must be at least 1, got (1, 0)"), Error);
  // 3x3 dilated by 4 spans 9x9, more than the 5x5 input padded by 1 (dilated by 3, it fits).
  CHECK(conv2d(x, w, Variable(), 1, 1, 1, 3).shape() == Shape{2, 4, 1, 1});
  CHECK_THROWS_WITH_AS(
      conv2d(x, w, Variable(), 1, 1, 1, 4),
      doctest::Contains("kernel 3x3 dilated to 9x9 is larger than the padded input 7x7"), Error);
  CHECK_THROWS_AS(conv2d(Variable(), w), Error);
}

TEST_CASE("conv2d with groups: each output block convolves its own input block") {
  using prism::testing::slice_axis;
  struct Grouped {
    int64_t n, c, h, w, k, kh, kw, groups;
    Size2 stride, pad;
  };
  Rng rng(41);
  // Two and three groups, depthwise (groups = C = K), channel multipliers, odd sizes, 1x1 and
  // 5x5 kernels, strides and pads of their own per dimension.
  for (const Grouped& g :
       {Grouped{2, 6, 7, 5, 9, 3, 3, 3, 1, 1}, Grouped{1, 4, 6, 6, 2, 3, 3, 2, 2, 1},
        Grouped{2, 5, 6, 7, 5, 3, 3, 5, 1, 1}, Grouped{1, 3, 5, 5, 6, 5, 5, 3, 1, 2},
        Grouped{3, 8, 4, 9, 4, 1, 1, 4, {1, 2}, 0},
        Grouped{1, 6, 9, 8, 12, 3, 2, 2, {2, 1}, {1, 0}}}) {
    INFO("N=" << g.n << " C=" << g.c << " K=" << g.k << " groups " << g.groups << " kernel " << g.kh
              << "x" << g.kw);
    const int64_t cg = g.c / g.groups, kg = g.k / g.groups;
    const Tensor x = random_tensor({g.n, g.c, g.h, g.w}, rng);
    const Tensor w = random_tensor({g.k, cg, g.kh, g.kw}, rng);
    const Tensor b = random_tensor({g.k}, rng);
    const Tensor y =
        conv2d(Variable(x), Variable(w), Variable(b), g.stride, g.pad, g.groups).data();
    for (int64_t i = 0; i < g.groups; ++i)
      CHECK(max_rel_diff(slice_axis(y, 1, i * kg, kg),
                         naive_conv2d(slice_axis(x, 1, i * cg, cg), slice_axis(w, 0, i * kg, kg),
                                      slice_axis(b, 0, i * kg, kg), g.stride, g.pad)) < 1e-4);
    check_gradients([&](auto& v) { return conv2d(v[0], v[1], v[2], g.stride, g.pad, g.groups); },
                    {x, w, b});
  }
}

TEST_CASE("conv2d with groups: groups that do not divide the channels are errors") {
  Variable x(Tensor({2, 6, 5, 5}));
  CHECK_THROWS_WITH_AS(conv2d(x, Variable(Tensor({4, 3, 3, 3})), Variable(), 1, 0, 0),
                       doctest::Contains("groups must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Variable(Tensor({4, 1, 3, 3})), Variable(), 1, 0, 4),
                       doctest::Contains("got 4 groups for x [2, 6, 5, 5]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Variable(Tensor({3, 3, 3, 3})), Variable(), 1, 0, 2),
                       doctest::Contains("divide the input channels and the filters"), Error);
  CHECK_THROWS_WITH_AS(
      conv2d(x, Variable(Tensor({4, 2, 3, 3})), Variable(), 1, 0, 2),
      doctest::Contains("has 6 channels but w [4, 2, 3, 3] with 2 group(s) expects 4"), Error);
}

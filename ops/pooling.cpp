#include "ops/pooling.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "core/allocator.hpp"
#include "core/profiler.hpp"

namespace prism {

namespace {

struct PoolShape {
  int64_t n, c, h, w, ho, wo;
  Size2 ksize, stride, pad;
  int64_t planes() const { return n * c; }
  Shape in_shape() const { return {n, c, h, w}; }
  Shape out_shape() const { return {n, c, ho, wo}; }
  // The output's window in input rows [h0, h0 + ksize.h) and columns [w0, w0 + ksize.w), some
  // of them padding (outside [0, h) x [0, w)).
  int64_t h0(int64_t oh) const { return oh * stride.h - pad.h; }
  int64_t w0(int64_t ow) const { return ow * stride.w - pad.w; }
};

// Checks a pooling's arguments and computes its shape (stride 0: the window's size). Chainer's
// cover_all=false: Ho = (H + 2 * pad.h - ksize.h) / stride.h + 1, and likewise Wo.
PoolShape pool_shape(const char* op, const Variable& x, Size2 ksize, Size2 stride, Size2 pad) {
  if (stride.h == 0) stride.h = ksize.h;
  if (stride.w == 0) stride.w = ksize.w;
  PRISM_CHECK(x.defined() && x.data().dim() == 4,
              op << ": needs x [N, C, H, W], got " << shape_string(x));
  PRISM_CHECK(ksize.h >= 1 && ksize.w >= 1 && stride.h >= 1 && stride.w >= 1 && pad.h >= 0 &&
                  pad.w >= 0 && pad.h < ksize.h && pad.w < ksize.w,
              op << ": needs ksize >= 1, stride >= 0 and 0 <= pad < ksize in each dimension, got "
                 << "ksize " << to_string(ksize) << ", stride " << to_string(stride) << ", pad "
                 << to_string(pad));
  const Shape& xs = x.shape();
  const int64_t h = xs[2], w = xs[3];
  PRISM_CHECK(ksize.h <= h + 2 * pad.h && ksize.w <= w + 2 * pad.w,
              op << ": window " << to_string(ksize) << " is larger than the padded input "
                 << to_string(xs) << " with pad " << to_string(pad));
  // The max's arg-max is an index within one plane.
  PRISM_CHECK(h * w <= std::numeric_limits<int32_t>::max(),
              op << ": planes of " << h << "x" << w << " exceed 2^31 - 1 pixels");
  return {xs[0],
          xs[1],
          h,
          w,
          (h + 2 * pad.h - ksize.h) / stride.h + 1,
          (w + 2 * pad.w - ksize.w) / stride.w + 1,
          ksize,
          stride,
          pad};
}

// The common VGG case, 2x2 windows every 2 pixels without padding: the arg-max is the window
// position 0..3 (one byte per output), and backward writes each window whole, so every
// gradient element is written by exactly one thread.
Variable max_pool_2x2(const Variable& x, const PoolShape& p) {
  const float* px = x.data().data();
  Tensor y = Tensor::empty(p.out_shape());
  std::shared_ptr<uint8_t> argmax = memory::allocate_array<uint8_t>(y.numel());
  float* py = y.data();
  uint8_t* pa = argmax.get();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane)
    for (int64_t oh = 0; oh < p.ho; ++oh) {
      const float* top = px + (plane * p.h + 2 * oh) * p.w;
      const float* bottom = top + p.w;
      const int64_t out = (plane * p.ho + oh) * p.wo;
      float* yrow = py + out;
      uint8_t* arow = pa + out;
      const int64_t wo = p.wo;
      // Scan order, the first maximum on ties, as the general path; written as selects so the
      // loop vectorizes.
      for (int64_t ow = 0; ow < wo; ++ow) {
        const float v0 = top[2 * ow], v1 = top[2 * ow + 1];
        const float v2 = bottom[2 * ow], v3 = bottom[2 * ow + 1];
        float best = v0;
        uint8_t at = 0;
        at = v1 > best ? 1 : at;
        best = v1 > best ? v1 : best;
        at = v2 > best ? 2 : at;
        best = v2 > best ? v2 : best;
        at = v3 > best ? 3 : at;
        best = v3 > best ? v3 : best;
        yrow[ow] = best;
        arow[ow] = at;
      }
    }
  return Variable::make(y, {x}, [argmax, p](std::vector<Variable>& in, const Tensor& gy) {
    // An odd last row or column belongs to no window: its gradient is 0.
    Tensor g = p.h % 2 || p.w % 2 ? Tensor(p.in_shape()) : Tensor::empty(p.in_shape());
    const float* pgy = gy.data();
    const uint8_t* pa = argmax.get();
    float* pg = g.data();
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < p.planes(); ++plane)
      for (int64_t oh = 0; oh < p.ho; ++oh) {
        float* top = pg + (plane * p.h + 2 * oh) * p.w;
        float* bottom = top + p.w;
        const int64_t out = (plane * p.ho + oh) * p.wo, wo = p.wo;
        const float* grow = pgy + out;
        const uint8_t* arow = pa + out;
        for (int64_t ow = 0; ow < wo; ++ow) {
          // The gradient where the arg-max is, +0 elsewhere, as bit masks: exact for any value
          // (inf and NaN included), and it vectorizes where float selects do not.
          const uint32_t v = std::bit_cast<uint32_t>(grow[ow]), at = arow[ow];
          top[2 * ow] = std::bit_cast<float>(v & -uint32_t{at == 0});
          top[2 * ow + 1] = std::bit_cast<float>(v & -uint32_t{at == 1});
          bottom[2 * ow] = std::bit_cast<float>(v & -uint32_t{at == 2});
          bottom[2 * ow + 1] = std::bit_cast<float>(v & -uint32_t{at == 3});
        }
      }
    in[0].add_grad(std::move(g));
  });
}

// Any window, stride and padding: forward keeps, for every output, the index of its maximum
// within the input plane (the first one in scan order on ties); backward routes each gradient
// there, one thread per plane. Padding never wins: every window holds at least one real input
// because pad < ksize.
Variable max_pool_general(const Variable& x, const PoolShape& p) {
  const float* px = x.data().data();
  Tensor y = Tensor::empty(p.out_shape());
  std::shared_ptr<int32_t> argmax = memory::allocate_array<int32_t>(y.numel());
  float* py = y.data();
  int32_t* pa = argmax.get();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const float* xp = px + plane * p.h * p.w;
    for (int64_t oh = 0; oh < p.ho; ++oh)
      for (int64_t ow = 0; ow < p.wo; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_at = -1;
        for (int64_t ih = p.h0(oh); ih < p.h0(oh) + p.ksize.h; ++ih)
          for (int64_t iw = p.w0(ow); iw < p.w0(ow) + p.ksize.w; ++iw) {
            if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
            const float v = xp[ih * p.w + iw];
            if (best_at < 0 || v > best) best = v, best_at = ih * p.w + iw;
          }
        const int64_t out = (plane * p.ho + oh) * p.wo + ow;
        py[out] = best;
        pa[out] = static_cast<int32_t>(best_at);
      }
  }
  return Variable::make(y, {x}, [argmax, p](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g({p.n, p.c, p.h, p.w});
    const float* pgy = gy.data();
    const int32_t* pa = argmax.get();
    float* pg = g.data();
    const int64_t out_plane = p.ho * p.wo;
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < p.planes(); ++plane)
      for (int64_t o = plane * out_plane; o < (plane + 1) * out_plane; ++o)
        pg[plane * p.h * p.w + pa[o]] += pgy[o];
    in[0].add_grad(std::move(g));
  });
}

}  // namespace

Variable max_pooling_2d(const Variable& x, Size2 ksize, Size2 stride, Size2 pad) {
  profile::Scope scope("max_pooling_2d");
  const PoolShape p = pool_shape("max_pooling_2d", x, ksize, stride, pad);
  const bool two_by_two = p.ksize == Size2{2} && p.stride == Size2{2} && p.pad == Size2{0};
  return two_by_two ? max_pool_2x2(x, p) : max_pool_general(x, p);
}

Variable average_pooling_2d(const Variable& x, Size2 ksize, Size2 stride, Size2 pad,
                            PadCount pad_count) {
  profile::Scope scope("average_pooling_2d");
  const PoolShape p = pool_shape("average_pooling_2d", x, ksize, stride, pad);
  // Each output's divisor: the window's size, or its inputs that are not padding.
  const bool include = pad_count == PadCount::include;
  auto divisor = [p, include](int64_t oh, int64_t ow) {
    if (include) return static_cast<float>(p.ksize.h * p.ksize.w);
    const int64_t rows = std::min(p.h0(oh) + p.ksize.h, p.h) - std::max(p.h0(oh), int64_t{0});
    const int64_t cols = std::min(p.w0(ow) + p.ksize.w, p.w) - std::max(p.w0(ow), int64_t{0});
    return static_cast<float>(rows * cols);  // >= 1: pad < ksize
  };
  const float* px = x.data().data();
  Tensor y = Tensor::empty(p.out_shape());
  float* py = y.data();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < p.planes(); ++plane) {
    const float* xp = px + plane * p.h * p.w;
    for (int64_t oh = 0; oh < p.ho; ++oh)
      for (int64_t ow = 0; ow < p.wo; ++ow) {
        float sum = 0;
        for (int64_t ih = std::max(p.h0(oh), int64_t{0}); ih < std::min(p.h0(oh) + p.ksize.h, p.h);
             ++ih)
          for (int64_t iw = std::max(p.w0(ow), int64_t{0});
               iw < std::min(p.w0(ow) + p.ksize.w, p.w); ++iw)
            sum += xp[ih * p.w + iw];
        py[(plane * p.ho + oh) * p.wo + ow] = sum / divisor(oh, ow);
      }
  }
  return Variable::make(y, {x}, [p, divisor](std::vector<Variable>& in, const Tensor& gy) {
    // Each output spreads its gradient over its window's inputs, one thread per plane.
    Tensor g(p.in_shape());
    const float* pgy = gy.data();
    float* pg = g.data();
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < p.planes(); ++plane) {
      float* gp = pg + plane * p.h * p.w;
      for (int64_t oh = 0; oh < p.ho; ++oh)
        for (int64_t ow = 0; ow < p.wo; ++ow) {
          const float share = pgy[(plane * p.ho + oh) * p.wo + ow] / divisor(oh, ow);
          for (int64_t ih = std::max(p.h0(oh), int64_t{0});
               ih < std::min(p.h0(oh) + p.ksize.h, p.h); ++ih)
            for (int64_t iw = std::max(p.w0(ow), int64_t{0});
                 iw < std::min(p.w0(ow) + p.ksize.w, p.w); ++iw)
              gp[ih * p.w + iw] += share;
        }
    }
    in[0].add_grad(std::move(g));
  });
}

Variable global_average_pooling_2d(const Variable& x) {
  profile::Scope scope("global_average_pooling_2d");
  PRISM_CHECK(
      x.defined() && x.data().dim() == 4 && x.shape()[2] * x.shape()[3] > 0,
      "global_average_pooling_2d: needs x [N, C, H, W] with H, W >= 1, got " << shape_string(x));
  const Shape& xs = x.shape();
  const int64_t planes = xs[0] * xs[1], plane = xs[2] * xs[3];
  const float inv = 1.0f / static_cast<float>(plane);
  const float* px = x.data().data();
  Tensor y = Tensor::empty({xs[0], xs[1]});
  float* py = y.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < planes; ++i) {
    float sum = 0;
    for (int64_t j = 0; j < plane; ++j)
      sum += px[i * plane + j];
    py[i] = sum * inv;
  }
  return Variable::make(y, {x},
                        [xs, planes, plane, inv](std::vector<Variable>& in, const Tensor& gy) {
                          Tensor g = Tensor::empty(xs);
                          const float* pgy = gy.data();
                          float* pg = g.data();
#pragma omp parallel for schedule(static)
                          for (int64_t i = 0; i < planes; ++i)
                            for (int64_t j = 0; j < plane; ++j)
                              pg[i * plane + j] = pgy[i] * inv;
                          in[0].add_grad(std::move(g));
                        });
}

}  // namespace prism

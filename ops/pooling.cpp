#include "ops/pooling.hpp"

#include <bit>
#include <cstdint>
#include <limits>

#include "core/allocator.hpp"
#include "core/profiler.hpp"

namespace prism {

namespace {

struct PoolShape {
  int64_t n, c, h, w, ho, wo, ksize, stride, pad;
  int64_t planes() const { return n * c; }
  Shape in_shape() const { return {n, c, h, w}; }
  Shape out_shape() const { return {n, c, ho, wo}; }
};

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
        for (int64_t ih = oh * p.stride - p.pad; ih < oh * p.stride - p.pad + p.ksize; ++ih)
          for (int64_t iw = ow * p.stride - p.pad; iw < ow * p.stride - p.pad + p.ksize; ++iw) {
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

Variable max_pooling_2d(const Variable& x, int64_t ksize, int64_t stride, int64_t pad) {
  profile::Scope scope("max_pooling_2d");
  if (stride == 0) stride = ksize;
  PRISM_CHECK(x.defined() && x.data().dim() == 4,
              "max_pooling_2d: needs x [N, C, H, W], got " << shape_string(x));
  PRISM_CHECK(ksize >= 1 && stride >= 1 && pad >= 0 && pad < ksize,
              "max_pooling_2d: needs ksize >= 1, stride >= 0 and 0 <= pad < ksize, got ksize "
                  << ksize << ", stride " << stride << ", pad " << pad);
  const Shape& xs = x.shape();
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  PRISM_CHECK(ksize <= h + 2 * pad && ksize <= w + 2 * pad,
              "max_pooling_2d: window " << ksize << " is larger than the padded input "
                                        << to_string(xs) << " with pad " << pad);
  // The arg-max is an index within one plane.
  PRISM_CHECK(h * w <= std::numeric_limits<int32_t>::max(),
              "max_pooling_2d: planes of " << h << "x" << w << " exceed 2^31 - 1 pixels");
  const PoolShape p{
      n,     c,      h,  w, (h + 2 * pad - ksize) / stride + 1, (w + 2 * pad - ksize) / stride + 1,
      ksize, stride, pad};
  return ksize == 2 && stride == 2 && pad == 0 ? max_pool_2x2(x, p) : max_pool_general(x, p);
}

}  // namespace prism

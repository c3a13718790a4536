// The convolution kernels for AVX2 with FMA (8 floats a vector, 16 registers). Compiled with
// -mavx2 -mfma and called only when the CPU and OS support them.
#include <immintrin.h>

#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_simd.hpp"

namespace prism::kernels {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int lanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};

}  // namespace

bool conv2d_direct_avx2(const DirectPlan& p, const float* src, const float* w, const float* bias,
                        float* out, float* scratch) {
  return direct_if<Avx2, 3, 2>(p, src, w, bias, out, scratch) ||
         direct_if<Avx2, 6, 1>(p, src, w, bias, out, scratch);
}

bool conv2d_weight_grad_avx2(const WeightGradPlan& p, const float* x, const float* dy,
                             const int64_t* pixel, float* acc, float* xbuf, float* dybuf) {
  return weight_grad_if<Avx2, 2, 6>(p, x, dy, pixel, acc, xbuf, dybuf) ||
         weight_grad_if<Avx2, 1, 9>(p, x, dy, pixel, acc, xbuf, dybuf);
}

}  // namespace prism::kernels

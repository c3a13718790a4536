// AVX2 with FMA as the SIMD kernels see it: 8 floats a vector. Include only from files compiled
// with -mavx2 -mfma; the unnamed namespace keeps each such file's copy to itself.
#pragma once

#include <immintrin.h>

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
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};

}  // namespace
}  // namespace prism::kernels

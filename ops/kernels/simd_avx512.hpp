// AVX-512 as the SIMD kernels see it: 16 floats a vector. Include only from files compiled
// with -mavx512f -mfma; the unnamed namespace keeps each such file's copy to itself.
#pragma once

#include <immintrin.h>

namespace prism::kernels {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int lanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
};

}  // namespace
}  // namespace prism::kernels

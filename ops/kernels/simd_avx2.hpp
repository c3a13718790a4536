// AVX2 with FMA as the SIMD kernels see it: 8 floats a vector. Include only from files compiled
// with -mavx2 -mfma; the unnamed namespace keeps each such file's copy to itself.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace prism::kernels {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int lanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  // Lanes [0, n) from p, zeros above; nothing past them is read (0 < n < 8).
  static V load_first(const float* p, int64_t n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane));
  }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }

  // Row r of an 8x8 block at in + r * in_stride, plus add[c] (if not null), becomes row c at
  // out + c * out_stride.
  static void transpose_store(const float* in, int64_t in_stride, float* out, int64_t out_stride,
                              const float* add) {
    const float* rows[8];
    for (int i = 0; i < 8; ++i)
      rows[i] = in + i * in_stride;
    transpose_rows(rows, out, out_stride, add);
  }
  // The same with row r at in[r]: the textbook unpack / shuffle / permute transpose.
  static void transpose_rows(const float* const* in, float* out, int64_t out_stride,
                             const float* add) {
    V r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i)
      r[i] = load(in[i]);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
      r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
    for (int c = 0; c < 8; ++c)
      store(out + c * out_stride, add ? _mm256_add_ps(r[c], _mm256_set1_ps(add[c])) : r[c]);
  }
};

}  // namespace
}  // namespace prism::kernels

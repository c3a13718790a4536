// AVX-512 as the SIMD kernels see it: 16 floats a vector. Include only from files compiled
// with -mavx512f -mfma; the unnamed namespace keeps each such file's copy to itself.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace prism::kernels {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int lanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  // Lanes [0, n) from p, zeros above; nothing past them is read (0 < n < 16).
  static V load_first(const float* p, int64_t n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }

  // (GCC 12 warns that its own unpack and shuffle intrinsics read an uninitialized value, the
  // "undefined" pass-through of their masked forms: GCC bug 105593.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  // Row r of a 16x16 block at in + r * in_stride, plus add[c] (if not null), becomes row c at
  // out + c * out_stride.
  static void transpose_store(const float* in, int64_t in_stride, float* out, int64_t out_stride,
                              const float* add) {
    const float* rows[16];
    for (int i = 0; i < 16; ++i)
      rows[i] = in + i * in_stride;
    transpose_rows(rows, out, out_stride, add);
  }
  // The same with row r at in[r]: unpack pairs of rows, shuffle pairs of pairs, then exchange
  // 128-bit lanes twice.
  static void transpose_rows(const float* const* in, float* out, int64_t out_stride,
                             const float* add) {
    V r[16], t[16];
    for (int i = 0; i < 16; ++i)
      r[i] = load(in[i]);
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
      r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int h = 0; h < 16; h += 8)
      for (int i = 0; i < 4; ++i) {
        t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
        t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
      }
    for (int i = 0; i < 8; ++i) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    for (int c = 0; c < 16; ++c)
      store(out + c * out_stride, add ? _mm512_add_ps(r[c], _mm512_set1_ps(add[c])) : r[c]);
  }
#pragma GCC diagnostic pop
};

}  // namespace
}  // namespace prism::kernels

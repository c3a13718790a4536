// The GEMM microkernel, written once over an ISA's vector type `I` (see conv2d_simd.hpp for
// what I provides and why this is in an unnamed namespace). Included only by gemm_avx*.cpp.
#pragma once

#include <cstdint>

#include "ops/kernels/gemm_isa.hpp"

namespace prism::kernels {
namespace {

// MR rows times two vectors of C held in registers over the whole kc loop: per step, two
// vector loads of B and MR broadcasts of A feed 2 * MR fused multiply-adds.
template <class I, int MR>
void gemm_tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
               int64_t cols, bool add) {
  using V = typename I::V;
  constexpr int L = I::lanes, NR = 2 * L;
  V acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    acc[i][0] = acc[i][1] = I::zero();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
    const V b0 = I::load(b), b1 = I::load(b + L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const V x = I::bcast(a + i);
      acc[i][0] = I::fma(x, b0, acc[i][0]);
      acc[i][1] = I::fma(x, b1, acc[i][1]);
    }
  }
  if (rows == MR && cols == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        float* to = c + i * ldc + h * L;
        I::store(to, add ? I::add(I::load(to), acc[i][h]) : acc[i][h]);
      }
    return;
  }
  alignas(64) float tile[MR * NR];  // an edge tile: only rows x cols of it are C
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    I::store(tile + i * NR, acc[i][0]);
    I::store(tile + i * NR + L, acc[i][1]);
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      c[i * ldc + j] = add ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

// An ISA file's GemmIsa: its microkernel with MR rows and two vectors of columns.
template <class I, int MR>
constexpr GemmIsa make_gemm_isa(const char* name) {
  return {name, MR, 2 * I::lanes, gemm_tile<I, MR>};
}

}  // namespace
}  // namespace prism::kernels

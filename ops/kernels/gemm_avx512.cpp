// The GEMM microkernel for AVX-512: a 12 x 32 tile, 24 of the 32 registers holding sums.
// Compiled with -mavx512f -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm_isa.hpp"
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::kernels {

namespace {

constexpr int kRows = 12;

void tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
          int64_t cols, bool add) {
  gemm_tile<Avx512, kRows>(kc, a, b, c, ldc, rows, cols, add);
}

constexpr GemmIsa kGemm{"avx512", kRows, 2 * Avx512::lanes, tile};

}  // namespace

const GemmIsa& gemm_avx512() {
  return kGemm;
}

}  // namespace prism::kernels

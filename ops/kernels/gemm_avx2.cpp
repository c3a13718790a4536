// The GEMM microkernel for AVX2: a 6 x 16 tile, 12 of the 16 registers holding sums.
// Compiled with -mavx2 -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm_isa.hpp"
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::kernels {

namespace {

constexpr int kRows = 6;

void tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
          int64_t cols, bool add) {
  gemm_tile<Avx2, kRows>(kc, a, b, c, ldc, rows, cols, add);
}

constexpr GemmIsa kGemm{"avx2", kRows, 2 * Avx2::lanes, tile};

}  // namespace

const GemmIsa& gemm_avx2() {
  return kGemm;
}

}  // namespace prism::kernels

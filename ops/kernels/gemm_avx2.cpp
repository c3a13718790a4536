// The GEMM microkernel for AVX2 (6 x 16 tile: 12 of the 16 registers hold sums).
// Compiled with -mavx2 -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm.hpp"
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::kernels {

void gemm_tile_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                    int64_t cols, bool add) {
  gemm_tile<Avx2, 6>(kc, a, b, c, ldc, rows, cols, add);
}

}  // namespace prism::kernels

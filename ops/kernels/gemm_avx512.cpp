// The GEMM microkernel for AVX-512 (12 x 32 tile: 24 of the 32 registers hold sums).
// Compiled with -mavx512f -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm.hpp"
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::kernels {

void gemm_tile_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                      int64_t rows, int64_t cols, bool add) {
  gemm_tile<Avx512, 12>(kc, a, b, c, ldc, rows, cols, add);
}

}  // namespace prism::kernels

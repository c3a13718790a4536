// The GEMM microkernel for AVX2: a 6 x 16 tile, 12 of the 16 registers holding sums.
// Compiled with -mavx2 -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::kernels {

const GemmIsa& gemm_avx2() {
  static constexpr GemmIsa kGemm = make_gemm_isa<Avx2, 6>("avx2");
  return kGemm;
}

}  // namespace prism::kernels

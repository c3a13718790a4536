// The GEMM microkernel for AVX-512: a 12 x 32 tile, 24 of the 32 registers holding sums.
// Compiled with -mavx512f -mfma and called only when the CPU and OS support them.
#include "ops/kernels/gemm_simd.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::kernels {

const GemmIsa& gemm_avx512() {
  static constexpr GemmIsa kGemm = make_gemm_isa<Avx512, 12>("avx512");
  return kGemm;
}

}  // namespace prism::kernels

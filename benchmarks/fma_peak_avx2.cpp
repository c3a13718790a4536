// The FMA peak loop with avx2 vectors; compiled with this ISA's flags.
#include "fma_peak.hpp"
#include "fma_peak_loop.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::bench {

double fma_peak_avx2() {
  return chains_gflops<kernels::Avx2>();
}

}  // namespace prism::bench

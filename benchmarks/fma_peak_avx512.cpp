// The FMA peak loop with avx512 vectors; compiled with this ISA's flags.
#include "fma_peak.hpp"
#include "fma_peak_loop.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::bench {

double fma_peak_avx512() {
  return chains_gflops<kernels::Avx512>();
}

}  // namespace prism::bench

#include "fma_peak.hpp"

#include <algorithm>

namespace prism::bench {

double fma_peak_gflops(Isa isa) {
  double best = 0;
  for (int round = 0; round < 3; ++round)  // the first run may meet a core still clocking up
    best = std::max(best, isa == Isa::avx512 ? fma_peak_avx512() : fma_peak_avx2());
  return best;
}

}  // namespace prism::bench

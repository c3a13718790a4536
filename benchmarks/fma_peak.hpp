// The FMA peak of one core, measured at start: the yardstick for a kernel's pct_peak.
#pragma once

#include "core/isa.hpp"

namespace prism::bench {

// GFLOP/s of back-to-back independent fused multiply-adds with `isa`'s vectors (avx2 or
// avx512; the CPU must support it): the best of three runs of about 0.1 s.
double fma_peak_gflops(Isa isa);

double fma_peak_avx512();  // one run; in fma_peak_avx512.cpp
double fma_peak_avx2();    // one run; in fma_peak_avx2.cpp

}  // namespace prism::bench

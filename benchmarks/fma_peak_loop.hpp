// The peak-measuring loop over an ISA's vector traits (ops/kernels/simd_*.hpp). Included only
// by fma_peak_avx512.cpp and fma_peak_avx2.cpp, which carry the ISA flags.
#pragma once

#include <chrono>

namespace prism::bench {
namespace {

// 12 independent chains of fused multiply-adds: enough to cover the FMA latency on both pipes
// of current cores, so the loop runs at the issue rate, and few enough (with the two constants)
// for AVX2's 16 registers.
template <class I>
double chains_gflops() {
  using V = typename I::V;
  constexpr int kChains = 12;
  constexpr long kSteps = 20'000'000;
  const float one = 1.0f, mul = 0.999999f, add = 1e-7f;
  V acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = I::bcast(&one);
  const V m = I::bcast(&mul), a = I::bcast(&add);
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < kSteps; ++s)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i)
      acc[i] = I::fma(acc[i], m, a);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float out[I::lanes], sum = 0;
  for (int i = 0; i < kChains; ++i) {
    I::store(out, acc[i]);
    sum += out[0];
  }
  volatile float sink = sum;  // keeps the chains alive
  (void)sink;
  return 2.0 * I::lanes * kChains * kSteps / secs / 1e9;
}

}  // namespace
}  // namespace prism::bench

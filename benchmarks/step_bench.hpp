// What the training-step benchmarks (vgg_step, resnet_step) measure of a step besides its time.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/profiler.hpp"

namespace prism::bench {

// Runs step() for every iteration of the benchmark, timing each: returns the median step in
// ms, the statistic torch_reference.py reports of its steps, so that both sides of a ratio
// take the same one (Google Benchmark's own time is the mean, which an outlier step moves).
template <class Step>
double run_steps_median_ms(benchmark::State& state, Step&& step) {
  std::vector<double> ms;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

struct Usage {
  int64_t minor_faults, peak_rss_kb;
};
inline Usage usage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return {u.ru_minflt, u.ru_maxrss};
}

// Runs step() once under the profiler: the nominal convolution flops it made.
inline double conv_flops_of(const std::function<void()>& step) {
  profile::enable(true);
  step();
  double flops = 0;
  for (const profile::Row& row : profile::rows())
    if (row.op == "conv2d") flops = row.flops;
  profile::enable(false);
  return flops;
}

}  // namespace prism::bench

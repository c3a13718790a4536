// What the training-step benchmarks (vgg_step, resnet_step) measure of a step besides its time.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <functional>

#include "core/profiler.hpp"

namespace prism::bench {

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

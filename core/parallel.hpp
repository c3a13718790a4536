// Threads inside a rank. Kernels use OpenMP directly; these set and read the thread count.
#pragma once

#include <cstdint>

namespace prism {

// Elementwise loops shorter than this run on one thread: waking a team costs more than it saves.
inline constexpr int64_t kParallelElements = 1 << 15;

int num_threads();            // threads an op may use
void set_num_threads(int n);  // n >= 1

}  // namespace prism

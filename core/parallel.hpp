// Threads inside a rank. Kernels use OpenMP directly; these set and read the thread count.
#pragma once

namespace prism {

int num_threads();            // threads an op may use
void set_num_threads(int n);  // n >= 1

}  // namespace prism

#include "core/parallel.hpp"

#include <omp.h>

#include "core/error.hpp"

namespace prism {

int num_threads() {
  return omp_get_max_threads();
}

void set_num_threads(int n) {
  PRISM_CHECK(n >= 1, "set_num_threads: need at least one thread, got " << n);
  omp_set_num_threads(n);
}

}  // namespace prism

#include "ops/kernels/scratch.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/error.hpp"

namespace prism::kernels {

Scratch::Scratch(int64_t floats) {
  const size_t bytes = (std::max<int64_t>(floats, 1) * sizeof(float) + 63) / 64 * 64;
  data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
  PRISM_CHECK(data_, "kernels: out of memory allocating " << bytes << " bytes of scratch");
}

void Scratch::Free::operator()(float* p) const {
  std::free(p);
}

}  // namespace prism::kernels

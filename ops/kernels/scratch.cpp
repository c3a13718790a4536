#include "ops/kernels/scratch.hpp"

#include "core/allocator.hpp"

namespace prism::kernels {

Scratch::Scratch(int64_t floats)
    : data_(memory::allocate(static_cast<size_t>(floats) * sizeof(float))) {}

}  // namespace prism::kernels

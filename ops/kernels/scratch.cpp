#include "ops/kernels/scratch.hpp"

#include "core/allocator.hpp"

namespace prism::kernels {

Scratch::Scratch(int64_t floats) : data_(memory::allocate_array<float>(floats)) {}

}  // namespace prism::kernels

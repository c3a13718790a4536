// Activation functions.
#pragma once

#include "core/autograd.hpp"

namespace prism {

Variable relu(const Variable& x);  // max(x, 0); gradient 0 at x <= 0
// relu(a + b) for a and b of one shape in one pass each way: a residual block's end
// (nn::BasicBlock), where add then relu would write and read the sum twice more.
Variable add_relu(const Variable& a, const Variable& b);

}  // namespace prism

// Activation functions.
#pragma once

#include "core/autograd.hpp"

namespace prism {

Variable relu(const Variable& x);  // max(x, 0); gradient 0 at x <= 0

}  // namespace prism

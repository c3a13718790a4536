// Elementwise arithmetic and reductions.
#pragma once

#include "core/autograd.hpp"

namespace prism {

// a + b and a * b elementwise, with NumPy broadcasting: the shapes are aligned at their last
// dimension and each pair of dimensions must be equal or contain a 1 (a missing dimension
// counts as 1), e.g. [N, C, H, W] + [C, 1, 1] -> [N, C, H, W]. An input's gradient is the
// output's gradient summed over the dimensions that input was broadcast along.
Variable add(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);

Variable scale(const Variable& x, float s);  // s * x
Variable sum(const Variable& x);             // all elements -> scalar
Variable mean(const Variable& x);            // all elements -> scalar

}  // namespace prism

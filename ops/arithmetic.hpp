// Elementwise arithmetic and reductions.
#pragma once

#include "core/autograd.hpp"

namespace prism {

Variable add(const Variable& a, const Variable& b);  // same shapes
Variable mul(const Variable& a, const Variable& b);  // same shapes, elementwise
Variable scale(const Variable& x, float s);          // s * x
Variable sum(const Variable& x);                     // all elements -> scalar
Variable mean(const Variable& x);                    // all elements -> scalar

}  // namespace prism

// Ops that move data without arithmetic: reshape, flatten, concat, channel select.
#pragma once

#include <vector>

#include "core/autograd.hpp"

namespace prism {

Variable reshape(const Variable& x, Shape shape);  // one dimension may be -1
Variable flatten(const Variable& x);               // [N, d1, d2, ...] -> [N, d1*d2*...]
// Joins along `axis`; all other dimensions must agree.
Variable concat(const std::vector<Variable>& xs, int64_t axis);
// Takes channels (axis 1) by index, in the given order: y[:, i] = x[:, index[i]].
// Indices may repeat; their gradients add up.
Variable select_channels(const Variable& x, const std::vector<int64_t>& index);

}  // namespace prism

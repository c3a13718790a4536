// Matrix product and the fully connected layer's function.
#pragma once

#include "core/autograd.hpp"

namespace prism {

Variable matmul(const Variable& a, const Variable& b);  // [M, K] x [K, N] -> [M, N]
// y = x W^T + b with x [N, in], W [out, in] (Chainer's layout), b [out] or undefined.
Variable linear(const Variable& x, const Variable& w, const Variable& b = Variable());

}  // namespace prism

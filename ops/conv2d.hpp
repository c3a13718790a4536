// 2-D convolution (cross-correlation, as in Chainer and PyTorch), NCHW.
#pragma once

#include "core/autograd.hpp"

namespace prism {

// x [N, C, H, W], w [K, C, kh, kw], b [K] or undefined -> y [N, K, Ho, Wo] with
// Ho = (H + 2*pad - kh) / stride + 1 (and likewise Wo).
Variable conv2d(const Variable& x, const Variable& w, const Variable& b = Variable(),
                int64_t stride = 1, int64_t pad = 0);

}  // namespace prism

// 2-D convolution (cross-correlation, as in Chainer and PyTorch), NCHW.
#pragma once

#include "core/autograd.hpp"
#include "core/types.hpp"

namespace prism {

// x [N, C, H, W], w [K, C / groups, kh, kw], b [K] or undefined -> y [N, K, Ho, Wo] with
// Ho = (H + 2 * pad.h - dilation.h * (kh - 1) - 1) / stride.h + 1, and Wo the same way.
// stride, pad and dilation are one number for both dimensions or a pair {h, w}.
// groups (PyTorch's): the channels split into `groups` consecutive blocks, and output block g
// (filters [g K / groups, (g + 1) K / groups)) reads input block g only; groups divides C and K.
// dilation (PyTorch's): tap (a, b) of output (y, x) reads input
// (y * stride.h + a * dilation.h - pad.h, x * stride.w + b * dilation.w - pad.w).
Variable conv2d(const Variable& x, const Variable& w, const Variable& b = Variable(),
                Size2 stride = 1, Size2 pad = 0, int64_t groups = 1, Size2 dilation = 1);

}  // namespace prism

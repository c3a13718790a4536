// The convolution the ops call: the SIMD kernels of the best ISA active_isa() allows
// (conv2d_isa.hpp), the reference kernels on scalar. NCHW in and out, like the reference.
#pragma once

#include "ops/kernels/conv2d_shape.hpp"

namespace prism::kernels {

// y = conv(x, w) + bias; bias may be null.
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y);
void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw);

}  // namespace prism::kernels

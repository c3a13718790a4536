// The convolution the ops call: the fastest kernel active_isa() allows (AVX-512 or AVX2
// direct kernels), the reference kernel on scalar. NCHW in and out, like the reference.
#pragma once

#include "ops/kernels/conv2d_reference.hpp"

namespace prism::kernels {

// y = conv(x, w) + bias; bias may be null.
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y);
void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw);

}  // namespace prism::kernels

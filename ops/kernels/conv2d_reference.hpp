// Reference convolution kernels: plain loops, obviously right, the oracle for fast kernels.
#pragma once

#include "ops/kernels/conv2d_shape.hpp"

namespace prism::kernels {

// y[N,K,Ho,Wo] = conv(x[N,C,H,W], w[K,C,kh,kw]) + bias[K] (bias may be null).
void conv2d_forward_reference(const ConvShape& s, const float* x, const float* w, const float* bias,
                              float* y);
// dx[N,C,H,W] = conv^T(dy, w)
void conv2d_backward_data_reference(const ConvShape& s, const float* dy, const float* w, float* dx);
// dw[K,C,kh,kw] = sum over batch and positions of dy * x
void conv2d_backward_weights_reference(const ConvShape& s, const float* x, const float* dy,
                                       float* dw);

// db[K] = sum over batch and positions of dy. Every ISA uses this one: a reduction that moves
// K * N * Ho * Wo floats once is bound by memory, not by arithmetic.
void conv2d_backward_bias(const ConvShape& s, const float* dy, float* db);

}  // namespace prism::kernels

// Reference convolution kernels: plain loops, obviously right, the oracle for fast kernels.
#pragma once

#include <cstdint>

namespace prism::kernels {

// One convolution's sizes; computed once per call and shared by all three passes.
struct ConvShape {
  int64_t n, c, h, w;  // input
  int64_t k, kh, kw;   // output channels, kernel size
  int64_t stride, pad;
  int64_t ho, wo;  // output
};

ConvShape make_conv_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                          int64_t kw, int64_t stride, int64_t pad);

// y[N,K,Ho,Wo] = conv(x[N,C,H,W], w[K,C,kh,kw]); no bias.
void conv2d_forward_reference(const ConvShape& s, const float* x, const float* w, float* y);
// dx[N,C,H,W] = conv^T(dy, w)
void conv2d_backward_data_reference(const ConvShape& s, const float* dy, const float* w, float* dx);
// dw[K,C,kh,kw] = sum over batch and positions of dy * x
void conv2d_backward_weights_reference(const ConvShape& s, const float* x, const float* dy,
                                       float* dw);

}  // namespace prism::kernels

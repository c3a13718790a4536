// One convolution's sizes, computed once per call and shared by every kernel and all three
// passes. Kernel, stride, padding and dilation each have a height and a width (PyTorch's and
// Chainer's (h, w) pairs); padding is symmetric: ph rows above and below, pw columns left and
// right. Dilation spreads the kernel's taps: tap (a, b) of output (y, x) reads input pixel
// (y * sh + a * dil_h - ph, x * sw + b * dil_w - pw).
#pragma once

#include <cstdint>

namespace prism::kernels {

struct ConvShape {
  int64_t n, c, h, w;  // input
  int64_t k, kh, kw;   // output channels, kernel size
  int64_t sh, sw;      // stride
  int64_t ph, pw;      // padding
  int64_t dil_h, dil_w;
  int64_t ho, wo;  // output

  // The rows and columns one output's taps span: (kh - 1) * dil_h + 1 by (kw - 1) * dil_w + 1.
  int64_t extent_h() const { return (kh - 1) * dil_h + 1; }
  int64_t extent_w() const { return (kw - 1) * dil_w + 1; }
  // A 1x1 kernel without padding: each output pixel reads one input pixel (at any stride).
  bool unpadded_1x1() const { return kh == 1 && kw == 1 && ph == 0 && pw == 0; }
};

// Checks the sizes (an error names them) and computes the output size.
ConvShape make_conv_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                          int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                          int64_t dil_h = 1, int64_t dil_w = 1);

}  // namespace prism::kernels

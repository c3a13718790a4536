#include "nn/convolution_2d.hpp"

#include "ops/conv2d.hpp"

namespace prism::nn {

namespace {

Tensor initial_weight(int64_t in_channels, int64_t out_channels, Size2 ksize, Size2 stride,
                      Size2 pad, int64_t groups, Size2 dilation, Rng& rng) {
  PRISM_CHECK(
      in_channels > 0 && out_channels > 0 && ksize.h > 0 && ksize.w > 0 && stride.h > 0 &&
          stride.w > 0 && pad.h >= 0 && pad.w >= 0 && dilation.h > 0 && dilation.w > 0,
      "Convolution2D: needs positive channels, ksize, stride, dilation and pad >= 0, got in "
          << in_channels << ", out " << out_channels << ", ksize " << to_string(ksize)
          << ", stride " << to_string(stride) << ", pad " << to_string(pad) << ", dilation "
          << to_string(dilation));
  PRISM_CHECK(groups >= 1 && in_channels % groups == 0 && out_channels % groups == 0,
              "Convolution2D: groups must be >= 1 and divide in and out channels, got "
                  << groups << " for in " << in_channels << ", out " << out_channels);
  return lecun_normal({out_channels, in_channels / groups, ksize.h, ksize.w},
                      in_channels / groups * ksize.h * ksize.w, rng);
}

}  // namespace

Convolution2D::Convolution2D(int64_t in_channels, int64_t out_channels, Size2 ksize, Size2 stride,
                             Size2 pad, bool nobias, int64_t groups, Size2 dilation, Rng& rng)
    : Convolution2D(
          initial_weight(in_channels, out_channels, ksize, stride, pad, groups, dilation, rng),
          nobias ? Tensor() : Tensor::zeros({out_channels}), stride, pad) {
  groups_ = groups;
  dilation_ = dilation;
}

Convolution2D::Convolution2D(Tensor W, Tensor b, Size2 stride, Size2 pad)
    : stride_(stride), pad_(pad) {
  PRISM_CHECK(
      W.defined() && W.dim() == 4 && stride.h > 0 && stride.w > 0 && pad.h >= 0 && pad.w >= 0 &&
          (!b.defined() || b.dim() == 1),
      "Convolution2D: needs W [K, C, kh, kw], b [K] or none, positive strides and pad >= 0");
  W_ = register_parameter("W", std::move(W));
  if (b.defined()) b_ = register_parameter("b", std::move(b));
}

Variable Convolution2D::forward(const Variable& x) {
  return conv2d(x, W_, b_, stride_, pad_, groups_, dilation_);
}

}  // namespace prism::nn

#include "nn/convolution_2d.hpp"

#include "ops/conv2d.hpp"

namespace prism::nn {

Convolution2D::Convolution2D(int64_t in_channels, int64_t out_channels, Size2 ksize, Size2 stride,
                             Size2 pad, bool nobias, Rng& rng)
    : stride_(stride), pad_(pad) {
  PRISM_CHECK(in_channels > 0 && out_channels > 0 && ksize.h > 0 && ksize.w > 0 && stride.h > 0 &&
                  stride.w > 0 && pad.h >= 0 && pad.w >= 0,
              "Convolution2D: needs positive channels, ksize and stride and pad >= 0, got in "
                  << in_channels << ", out " << out_channels << ", ksize " << to_string(ksize)
                  << ", stride " << to_string(stride) << ", pad " << to_string(pad));
  W_ = register_parameter("W", lecun_normal({out_channels, in_channels, ksize.h, ksize.w},
                                            in_channels * ksize.h * ksize.w, rng));
  if (!nobias) b_ = register_parameter("b", Tensor::zeros({out_channels}));
}

Variable Convolution2D::forward(const Variable& x) {
  return conv2d(x, W_, b_, stride_, pad_);
}

}  // namespace prism::nn

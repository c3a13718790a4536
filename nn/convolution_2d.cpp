#include "nn/convolution_2d.hpp"

#include "ops/conv2d.hpp"

namespace prism::nn {

Convolution2D::Convolution2D(int64_t in_channels, int64_t out_channels, int64_t ksize,
                             int64_t stride, int64_t pad, bool nobias, Rng& rng)
    : stride_(stride), pad_(pad) {
  PRISM_CHECK(in_channels > 0 && out_channels > 0 && ksize > 0 && stride > 0 && pad >= 0,
              "Convolution2D: needs positive channels, ksize and stride and pad >= 0, got in "
                  << in_channels << ", out " << out_channels << ", ksize " << ksize << ", stride "
                  << stride << ", pad " << pad);
  W_ = register_parameter("W", lecun_normal({out_channels, in_channels, ksize, ksize},
                                            in_channels * ksize * ksize, rng));
  if (!nobias) b_ = register_parameter("b", Tensor::zeros({out_channels}));
}

Variable Convolution2D::forward(const Variable& x) {
  return conv2d(x, W_, b_, stride_, pad_);
}

}  // namespace prism::nn

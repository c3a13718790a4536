// 2-D convolution layer (Chainer's L.Convolution2D), NCHW.
#pragma once

#include "nn/module.hpp"

namespace prism::nn {

class Convolution2D : public Module {
 public:
  // W [out_channels, in_channels, ksize, ksize] from LeCun normal (fan_in in_channels*ksize^2),
  // drawn from `rng` (global_rng() by default); b [out_channels] zeros, or none when `nobias`.
  Convolution2D(int64_t in_channels, int64_t out_channels, int64_t ksize, int64_t stride = 1,
                int64_t pad = 0, bool nobias = false, Rng& rng = global_rng());

  // x [N, in_channels, H, W] -> [N, out_channels, Ho, Wo] (see ops/conv2d.hpp).
  Variable forward(const Variable& x) override;

  const Variable& W() const { return W_; }
  const Variable& b() const { return b_; }  // undefined when nobias
  int64_t stride() const { return stride_; }
  int64_t pad() const { return pad_; }

 private:
  int64_t stride_, pad_;
  Variable W_, b_;
};

}  // namespace prism::nn

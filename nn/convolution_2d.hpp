// 2-D convolution layer (Chainer's L.Convolution2D), NCHW.
#pragma once

#include "core/types.hpp"
#include "nn/module.hpp"

namespace prism::nn {

class Convolution2D : public Module {
 public:
  // W [out_channels, in_channels / groups, ksize.h, ksize.w] from LeCun normal (fan_in
  // in_channels / groups * ksize.h * ksize.w), drawn from `rng` (global_rng() by default);
  // b [out_channels] zeros, or none when `nobias`. ksize, stride, pad and dilation are one
  // number or a pair {h, w}, as in Chainer; groups and dilation as conv2d's (ops/conv2d.hpp).
  Convolution2D(int64_t in_channels, int64_t out_channels, Size2 ksize, Size2 stride = 1,
                Size2 pad = 0, bool nobias = false, int64_t groups = 1, Size2 dilation = 1,
                Rng& rng = global_rng());

  // x [N, in_channels, H, W] -> [N, out_channels, Ho, Wo] (see ops/conv2d.hpp).
  Variable forward(const Variable& x) override;

  const Variable& W() const { return W_; }
  const Variable& b() const { return b_; }  // undefined when nobias
  Size2 stride() const { return stride_; }
  Size2 pad() const { return pad_; }
  int64_t groups() const { return groups_; }
  Size2 dilation() const { return dilation_; }

 protected:
  // A layer holding W [K, C, kh, kw] and b (or none, when undefined) as its initial values:
  // what a parallel convolution, which draws its slice of a larger layer, builds on. b is [K]
  // for forward() to add it; a subclass that adds it itself may hold another slice.
  Convolution2D(Tensor W, Tensor b, Size2 stride, Size2 pad);

 private:
  Size2 stride_, pad_;
  int64_t groups_ = 1;
  Size2 dilation_ = 1;
  Variable W_, b_;
};

}  // namespace prism::nn

// Fully connected layer: y = x W^T + b (Chainer's L.Linear).
#pragma once

#include "nn/module.hpp"

namespace prism::nn {

class Linear : public Module {
 public:
  // W [out_size, in_size] from LeCun normal (std sqrt(1 / in_size)), drawn from global_rng();
  // b [out_size] zeros, or none when `nobias`.
  Linear(int64_t in_size, int64_t out_size, bool nobias = false);

  // x [N, in_size] -> [N, out_size]. Like Chainer, x [N, d1, d2, ...] is first flattened to
  // [N, d1*d2*...], so a Linear can follow a convolution directly; the product must be in_size.
  Variable forward(const Variable& x) override;

  const Variable& W() const { return W_; }
  const Variable& b() const { return b_; }  // undefined when nobias
  int64_t in_size() const { return in_size_; }
  int64_t out_size() const { return out_size_; }

 private:
  int64_t in_size_, out_size_;
  Variable W_, b_;
};

}  // namespace prism::nn

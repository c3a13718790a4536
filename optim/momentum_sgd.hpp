// Stochastic gradient descent with momentum (Chainer's MomentumSGD):
//   v = momentum * v - lr * grad;  param += v
#pragma once

#include "optim/optimizer.hpp"

namespace prism::optim {

class MomentumSGD : public Optimizer {
 public:
  // lr >= 0, 0 <= momentum < 1. State slot per parameter: "v".
  explicit MomentumSGD(NamedParameters params, float lr = 0.01f, float momentum = 0.9f);

  float momentum() const { return momentum_; }

 private:
  void update_one(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& slots,
                  int64_t t) override;

  float momentum_;
};

}  // namespace prism::optim

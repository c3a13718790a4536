// Adam (Kingma & Ba), exactly as Chainer's Adam, with per-parameter step t:
//   m += (1 - beta1) (grad - m);   v += (1 - beta2) (grad^2 - v)
//   param -= alpha sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
#pragma once

#include "optim/optimizer.hpp"

namespace prism::optim {

class Adam : public Optimizer {
 public:
  // alpha (the learning rate, lr()) >= 0, 0 <= beta1, beta2 < 1, eps > 0.
  // State slots per parameter: "m" and "v".
  explicit Adam(NamedParameters params, float alpha = 1e-3f, float beta1 = 0.9f,
                float beta2 = 0.999f, float eps = 1e-8f);

  float alpha() const { return lr(); }
  float beta1() const { return beta1_; }
  float beta2() const { return beta2_; }
  float eps() const { return eps_; }

 private:
  void update_one(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& slots,
                  int64_t t) override;

  float beta1_, beta2_, eps_;
};

}  // namespace prism::optim

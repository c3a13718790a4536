#include "optim/momentum_sgd.hpp"

namespace prism::optim {

MomentumSGD::MomentumSGD(NamedParameters params, float lr, float momentum)
    : Optimizer(std::move(params), lr, {"v"}), momentum_(momentum) {
  PRISM_CHECK(momentum >= 0.0f && momentum < 1.0f,
              "MomentumSGD: momentum must be in [0, 1), got " << momentum);
}

void MomentumSGD::update_one(const Tensor& param, const Tensor& grad,
                             const std::vector<Tensor>& slots, int64_t /*t*/) {
  const Tensor& v = slots[0];
  const float lr = this->lr();
  for (int64_t i = 0; i < param.numel(); ++i) {
    v[i] = momentum_ * v[i] - lr * grad[i];
    param[i] += v[i];
  }
}

}  // namespace prism::optim

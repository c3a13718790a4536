#include "optim/momentum_sgd.hpp"

#include "core/parallel.hpp"

namespace prism::optim {

MomentumSGD::MomentumSGD(NamedParameters params, float lr, float momentum)
    : Optimizer(std::move(params), lr, {"v"}), momentum_(momentum) {
  PRISM_CHECK(momentum >= 0.0f && momentum < 1.0f,
              "MomentumSGD: momentum must be in [0, 1), got " << momentum);
}

void MomentumSGD::update_one(const Tensor& param, const Tensor& grad,
                             const std::vector<Tensor>& slots, int64_t /*t*/) {
  const float lr = this->lr(), momentum = momentum_, decay = weight_decay();
  float *w = param.data(), *v = slots[0].data();
  const float* g = grad.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    v[i] = momentum * v[i] - lr * (g[i] + decay * w[i]);
    w[i] += v[i];
  }
}

}  // namespace prism::optim

#include "optim/adam.hpp"

#include <cmath>

#include "core/parallel.hpp"

namespace prism::optim {

Adam::Adam(NamedParameters params, float alpha, float beta1, float beta2, float eps)
    : Optimizer(std::move(params), alpha, {"m", "v"}), beta1_(beta1), beta2_(beta2), eps_(eps) {
  PRISM_CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f,
              "Adam: beta1 and beta2 must be in [0, 1), got " << beta1 << " and " << beta2);
  PRISM_CHECK(eps > 0.0f && std::isfinite(eps), "Adam: eps must be positive, got " << eps);
}

void Adam::update_one(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& slots,
                      int64_t t) {
  const Tensor& m = slots[0];
  const Tensor& v = slots[1];
  // The bias correction folded into the step size, in double: beta^t underflows gracefully.
  const double td = static_cast<double>(t);
  const auto step = static_cast<float>(lr() * std::sqrt(1.0 - std::pow(double(beta2_), td)) /
                                       (1.0 - std::pow(double(beta1_), td)));
  const float beta1 = beta1_, beta2 = beta2_, eps = eps_, decay = weight_decay();
  float *w = param.data(), *pm = m.data(), *pv = v.data();
  const float* pg = grad.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float g = pg[i] + decay * w[i];
    pm[i] += (1.0f - beta1) * (g - pm[i]);
    pv[i] += (1.0f - beta2) * (g * g - pv[i]);
    w[i] -= step * pm[i] / (std::sqrt(pv[i]) + eps);
  }
}

}  // namespace prism::optim

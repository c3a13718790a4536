// Batch normalization over axis 1 of [N, C] or [N, C, H, W].
#pragma once

#include "core/autograd.hpp"

namespace prism {

struct BatchNormConfig {
  float decay = 0.9f;  // running = decay * running + (1 - decay) * batch statistic
  float eps = 2e-5f;   // Chainer's default
};

// Train: normalizes with the batch mean and (biased) variance, and updates running_mean and
// running_var (the unbiased variance, m / (m - 1)) in place. Eval: uses the running statistics.
// gamma, beta, running_mean, running_var all have shape [C].
Variable batch_normalization(const Variable& x, const Variable& gamma, const Variable& beta,
                             const Tensor& running_mean, const Tensor& running_var, bool train,
                             BatchNormConfig config = {});

}  // namespace prism

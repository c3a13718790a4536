// Batch normalization over axis 1 of [N, C] or [N, C, H, W].
#pragma once

#include <functional>
#include <vector>

#include "core/autograd.hpp"

namespace prism {

// decay = 1 keeps the running statistics as they are (frozen); check() is the one place the
// bounds live, called by the op and by nn::BatchNormalization's constructor.
struct BatchNormConfig {
  float decay = 0.9f;  // running = decay * running + (1 - decay) * batch statistic
  float eps = 2e-5f;   // Chainer's default
  bool relu = false;   // y = max(bn(x), 0) in the same pass, as a conv-BN-ReLU block wants
  // Synchronized BN (nn::SyncBatchNormalization): sums per-channel values, in place, over the
  // processes that each hold a part of the batch. Training then normalizes with the statistics
  // of the whole batch. Empty: this process's batch is the whole batch.
  std::function<void(std::vector<double>&)> sum_over_batch = {};
  // eps > 0 and finite, decay in [0, 1]; `who` starts the error message.
  void check(const char* who) const;
};

// Statistics are per channel over m = N * H * W values (N for [N, C]).
// Train: normalizes with the batch mean and biased variance, and updates running_mean and
// running_var in place (the tensors share storage with the caller's), running_var with the
// unbiased variance (times m / (m - 1)). Needs m >= 2: with one value per channel the batch
// variance is 0 and the unbiased one undefined, so that is an error (as in PyTorch).
// The gradient flows through the batch mean and variance to x, gamma and beta.
// Eval: normalizes with the running statistics, which are constants for the gradient
// (dx = gamma / sqrt(running_var + eps) * dy); any m, the running statistics are not changed.
// gamma, beta, running_mean, running_var all have shape [C]; eps > 0, decay in [0, 1].
// With config.sum_over_batch, m, the batch statistics and the gradient's two per-channel sums
// are those of the whole batch (every process calls it as often: in train mode twice forward
// and, when x needs a gradient, once backward); gamma's and beta's gradients stay this part's own,
// for the data-parallel average to sum (PyTorch's SyncBatchNorm does the same).
Variable batch_normalization(const Variable& x, const Variable& gamma, const Variable& beta,
                             const Tensor& running_mean, const Tensor& running_var, bool train,
                             BatchNormConfig config = {});

}  // namespace prism

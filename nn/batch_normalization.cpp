#include "nn/batch_normalization.hpp"

namespace prism::nn {

BatchNormalization::BatchNormalization(int64_t size, float decay, float eps)
    : BatchNormalization(size, BatchNormConfig{.decay = decay, .eps = eps}) {}

BatchNormalization::BatchNormalization(int64_t size, BatchNormConfig config) : config_(config) {
  PRISM_CHECK(size > 0, "BatchNormalization: size must be positive, got " << size);
  config_.check("BatchNormalization");
  gamma_ = register_parameter("gamma", Tensor::ones({size}));
  beta_ = register_parameter("beta", Tensor::zeros({size}));
  avg_mean_ = register_buffer("avg_mean", Tensor::zeros({size}));
  avg_var_ = register_buffer("avg_var", Tensor::ones({size}));
}

Variable BatchNormalization::forward(const Variable& x) {
  return batch_normalization(x, gamma_, beta_, avg_mean_, avg_var_, training(), config_);
}

}  // namespace prism::nn

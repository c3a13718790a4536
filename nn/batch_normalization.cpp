#include "nn/batch_normalization.hpp"

#include <cmath>

namespace prism::nn {

BatchNormalization::BatchNormalization(int64_t size, float decay, float eps) : config_{decay, eps} {
  PRISM_CHECK(size > 0, "BatchNormalization: size must be positive, got " << size);
  PRISM_CHECK(decay >= 0.0f && decay < 1.0f,
              "BatchNormalization: decay must be in [0, 1), got " << decay);
  PRISM_CHECK(eps > 0.0f && std::isfinite(eps),
              "BatchNormalization: eps must be positive, got " << eps);
  gamma_ = register_parameter("gamma", Tensor::ones({size}));
  beta_ = register_parameter("beta", Tensor::zeros({size}));
  avg_mean_ = register_buffer("avg_mean", Tensor::zeros({size}));
  avg_var_ = register_buffer("avg_var", Tensor::ones({size}));
}

Variable BatchNormalization::forward(const Variable& x) {
  return batch_normalization(x, gamma_, beta_, avg_mean_, avg_var_, training(), config_);
}

}  // namespace prism::nn

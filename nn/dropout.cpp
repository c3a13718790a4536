#include "nn/dropout.hpp"

#include "ops/dropout.hpp"

namespace prism::nn {

Dropout::Dropout(float ratio) : ratio_(ratio) {
  PRISM_CHECK(ratio >= 0.0f && ratio < 1.0f, "Dropout: ratio must be in [0, 1), got " << ratio);
}

Variable Dropout::forward(const Variable& x) {
  return dropout(x, ratio_, training(), global_rng());
}

}  // namespace prism::nn

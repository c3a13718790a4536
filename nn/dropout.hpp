// Dropout layer (Chainer's F.dropout as a module, so that train/eval switches it).
#pragma once

#include "nn/module.hpp"

namespace prism::nn {

class Dropout : public Module {
 public:
  explicit Dropout(float ratio = 0.5f);  // 0 <= ratio < 1

  // Training mode: zeroes each element with probability ratio and scales the rest by
  // 1 / (1 - ratio), the mask drawn from global_rng(). Evaluation mode: identity.
  Variable forward(const Variable& x) override;

  float ratio() const { return ratio_; }

 private:
  float ratio_;
};

}  // namespace prism::nn

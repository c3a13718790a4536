// A dataset whose examples say who they are, for the iterator and scatter tests.
#pragma once

#include <memory>

#include "data/dataset.hpp"

namespace prism::testing {

// Example i: a [2] tensor (i, -i) with label i, except the last whose label 2^24 + 1 has no
// float representation (labels must never travel through float).
inline std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  Tensor x({n, 2});
  Labels t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    x[2 * i] = static_cast<float>(i);
    x[2 * i + 1] = -static_cast<float>(i);
    t[static_cast<size_t>(i)] = i + 1 == n ? 16777217 : static_cast<int32_t>(i);
  }
  return std::make_shared<data::TensorDataset>(x, t);
}

}  // namespace prism::testing

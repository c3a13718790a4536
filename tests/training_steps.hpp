// Helpers for tests that train a few steps and compare whole training states bitwise.
#pragma once

#include <vector>

#include "data/iterator.hpp"
#include "nn/classifier.hpp"
#include "optim/optimizer.hpp"

namespace prism::testing {

// n steps of the usual loop: next batch, zero_grad, forward and backward, update.
inline void train_steps(nn::Classifier& model, optim::Optimizer& optimizer, data::Iterator& it,
                        int n) {
  for (int i = 0; i < n; ++i) {
    const data::Batch b = *it.next();
    model.zero_grad();
    model(Variable(b.x), b.labels).backward();
    optimizer.update();
  }
}

// Everything a resumed run must reproduce: parameters, buffers and the optimizer's state.
inline std::vector<std::vector<float>> training_values(const nn::Module& model,
                                                       const optim::Optimizer& optimizer) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : model.named_tensors())
    out.push_back(t.to_vector());
  for (const auto& [name, s] : optimizer.state())
    out.push_back(s.to_vector());
  return out;
}

}  // namespace prism::testing

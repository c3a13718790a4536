#include "ops/loss.hpp"

#include "core/profiler.hpp"

#include <cmath>

namespace prism {

namespace {

// Checks logits [N, classes] against N labels, each in [0, classes) or kIgnoreLabel.
void check_logits_labels(const char* op, const Variable& logits, const Labels& labels) {
  PRISM_CHECK(
      logits.defined() && logits.data().dim() == 2 && logits.shape()[1] > 0,
      op << ": logits must be [N, classes] with classes >= 1, got " << shape_string(logits));
  const int64_t n = logits.shape()[0], classes = logits.shape()[1];
  PRISM_CHECK(static_cast<int64_t>(labels.size()) == n,
              op << ": " << labels.size() << " labels for logits " << to_string(logits.shape()));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = labels[i];
    PRISM_CHECK(t == kIgnoreLabel || (t >= 0 && t < classes),
                op << ": label " << t << " of sample " << i << " is out of range [0, " << classes
                   << ") and not the ignore label " << kIgnoreLabel);
  }
}

}  // namespace

Variable softmax_cross_entropy(const Variable& logits, const Labels& labels) {
  profile::Scope scope("softmax_cross_entropy");
  check_unsharded(logits, "softmax_cross_entropy");
  check_logits_labels("softmax_cross_entropy", logits, labels);
  const int64_t n = logits.shape()[0], classes = logits.shape()[1];
  const Tensor tx = logits.data();
  Tensor prob(logits.shape());  // softmax of the counted rows, for the backward
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] == kIgnoreLabel) continue;
    const float* row = tx.data() + i * classes;
    // log-sum-exp after subtracting the max: exp never overflows, the largest term is 1.
    float top = row[0];
    for (int64_t j = 1; j < classes; ++j)
      top = std::max(top, row[j]);
    double z = 0;
    for (int64_t j = 0; j < classes; ++j)
      z += std::exp(static_cast<double>(row[j]) - top);
    for (int64_t j = 0; j < classes; ++j)
      prob[i * classes + j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - top) / z);
    total += top + std::log(z) - row[labels[i]];  // -log softmax(row)[label]
    ++count;
  }
  // No counted sample: the loss is 0 and so is every gradient.
  const double loss = count > 0 ? total / static_cast<double>(count) : 0.0;
  return Variable::make(
      Tensor::scalar(static_cast<float>(loss)), {logits},
      [prob, labels, count, n, classes](std::vector<Variable>& in, const Tensor& gy) {
        Tensor g(prob.shape());
        const float coef = count > 0 ? gy.item() / static_cast<float>(count) : 0.0f;
        for (int64_t i = 0; i < n; ++i) {
          if (labels[i] == kIgnoreLabel) continue;  // its row stays 0
          // (softmax - onehot) / count * gy
          for (int64_t j = 0; j < classes; ++j)
            g[i * classes + j] = (prob[i * classes + j] - (j == labels[i] ? 1.0f : 0.0f)) * coef;
        }
        in[0].add_grad(std::move(g));
      });
}

float accuracy(const Variable& logits, const Labels& labels) {
  check_logits_labels("accuracy", logits, labels);
  const int64_t n = logits.shape()[0], classes = logits.shape()[1];
  const Tensor tx = logits.data();
  int64_t correct = 0, count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] == kIgnoreLabel) continue;
    const float* row = tx.data() + i * classes;
    int64_t best = 0;  // the first maximum wins ties
    for (int64_t j = 1; j < classes; ++j)
      if (row[j] > row[best]) best = j;
    correct += best == labels[i];
    ++count;
  }
  return count > 0 ? static_cast<float>(correct) / static_cast<float>(count) : 0.0f;
}

}  // namespace prism

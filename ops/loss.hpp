// Classification loss and metric.
#pragma once

#include <cstdint>
#include <vector>

#include "core/autograd.hpp"

namespace prism {

using Labels = std::vector<int32_t>;
constexpr int32_t kIgnoreLabel = -1;  // samples with this label are left out (Chainer)

// Mean over the non-ignored samples of -log softmax(logits)[label]; logits [N, classes].
Variable softmax_cross_entropy(const Variable& logits, const Labels& labels);
// Fraction of non-ignored samples whose arg-max logit equals the label.
float accuracy(const Variable& logits, const Labels& labels);

}  // namespace prism

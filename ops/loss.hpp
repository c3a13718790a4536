// Classification loss and metric.
#pragma once

#include <cstdint>
#include <vector>

#include "core/autograd.hpp"

namespace prism {

constexpr int32_t kIgnoreLabel = -1;  // samples with this label are left out (Chainer)

// logits [N, classes >= 1] and N labels, each in [0, classes) or kIgnoreLabel; anything else
// is an error naming the sample and the label.

// Mean over the non-ignored samples of -log softmax(logits)[label], a scalar (shape []).
// Stable for any finite logits (log-sum-exp after subtracting the row's max, in double).
// Gradient: (softmax - onehot(label)) / count * dy for counted rows, 0 for ignored rows.
// If every label is ignored (or N == 0) the loss is 0 and the gradient is 0.
Variable softmax_cross_entropy(const Variable& logits, const Labels& labels);
// Fraction of non-ignored samples whose arg-max logit (the first one on ties) equals the
// label; 0 if every label is ignored (as Chainer). Not differentiable.
float accuracy(const Variable& logits, const Labels& labels);

}  // namespace prism

// Dropout.
#pragma once

#include "core/autograd.hpp"
#include "core/rng.hpp"

namespace prism {

// Train: zeroes each element with probability `ratio` and scales the rest by 1 / (1 - ratio)
// (inverted dropout, as Chainer); the gradient is multiplied by the same mask. The mask takes
// one rng.uniform() per element in row-major order, so the same generator state gives the same
// mask (on every rank). Eval, or ratio 0: returns x itself and draws nothing.
// ratio must be in [0, 1), in eval mode too.
Variable dropout(const Variable& x, float ratio, bool train, Rng& rng);

}  // namespace prism

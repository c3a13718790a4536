// Dropout.
#pragma once

#include "core/autograd.hpp"
#include "core/rng.hpp"

namespace prism {

// Train: zeroes each element with probability `ratio` and scales the rest by 1 / (1 - ratio)
// (inverted dropout, as Chainer). Eval: identity. The mask comes from `rng`.
Variable dropout(const Variable& x, float ratio, bool train, Rng& rng);

}  // namespace prism

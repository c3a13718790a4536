// Dropout.
#pragma once

#include "core/autograd.hpp"
#include "core/rng.hpp"

namespace prism {

// Train: zeroes each element with probability `ratio` and scales the rest by 1 / (1 - ratio)
// (inverted dropout, as Chainer); the gradient is multiplied by the same mask. Each call takes
// one 64-bit key from rng; element i (row-major) is dropped when the high (even i) or low (odd
// i) 32 bits of counter_hash(key, i / 2) are below ratio * 2^32. So the same generator state gives
// the same mask on every rank and at every thread count, and any slice of the mask can be drawn
// alone: a channel-sharded x (x.shard(), see core/autograd.hpp) draws, at each of its elements,
// what the full tensor draws there. Backward keeps one bit per element. Eval, or ratio 0: returns x
// itself and draws nothing. ratio must be in [0, 1), in eval mode too.
Variable dropout(const Variable& x, float ratio, bool train, Rng& rng);

}  // namespace prism

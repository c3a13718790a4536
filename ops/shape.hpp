// Ops that move data without arithmetic: reshape, flatten, concat, channel select.
#pragma once

#include <vector>

#include "core/autograd.hpp"

namespace prism {

Variable reshape(const Variable& x, Shape shape);  // one dimension may be -1
Variable flatten(const Variable& x);               // [N, d1, d2, ...] -> [N, d1*d2*...]
// Joins along `axis`; all other dimensions must agree.
Variable concat(const std::vector<Variable>& xs, int64_t axis);
// Takes channels (axis 1) by index, in the given order: y[:, i] = x[:, index[i]].
// Indices may repeat; their gradients add up.
Variable select_channels(const Variable& x, const std::vector<int64_t>& index);

// x itself (the same values, no copy), saying that it holds `shard` of a full tensor's
// channels: x.shape()[1] must be shard.count(). ChannelShard{} (or a shard of every channel)
// says "every channel" again, which is how a layer that reads a shard as plain local channels
// (a parallel convolution's local conv2d) drops the label. See core/autograd.hpp.
Variable with_channel_shard(const Variable& x, ChannelShard shard);

}  // namespace prism

#include "nn/batch_normalization.hpp"

namespace prism::nn {

BatchNormalization::BatchNormalization(int64_t size, float decay, float eps)
    : BatchNormalization(size, BatchNormConfig{.decay = decay, .eps = eps}) {}

BatchNormalization::BatchNormalization(int64_t size, BatchNormConfig config)
    : BatchNormalization(ChannelShard{}, size, config) {}

BatchNormalization::BatchNormalization(ChannelShard shard, int64_t full_size,
                                       BatchNormConfig config)
    : config_(config), shard_(shard) {
  PRISM_CHECK(full_size > 0, "BatchNormalization: size must be positive, got " << full_size);
  PRISM_CHECK(shard.valid() && (!shard.sharded() || shard.channels == full_size),
              "BatchNormalization: a shard of "
                  << full_size << " channels, got " << to_string(shard) << " (stride "
                  << shard.stride << ", offset " << shard.offset << ", end " << shard.end << ")");
  const int64_t size = shard.sharded() ? shard.count() : full_size;
  config_.check("BatchNormalization");
  gamma_ = register_parameter("gamma", Tensor::ones({size}));
  beta_ = register_parameter("beta", Tensor::zeros({size}));
  avg_mean_ = register_buffer("avg_mean", Tensor::zeros({size}));
  avg_var_ = register_buffer("avg_var", Tensor::ones({size}));
}

Variable BatchNormalization::forward(const Variable& x) {
  PRISM_CHECK(x.defined() && x.shard() == shard_,
              "BatchNormalization: holds " << to_string(shard_) << ", but x holds "
                                           << (x.defined() ? to_string(x.shard()) : "nothing"));
  return batch_normalization(x, gamma_, beta_, avg_mean_, avg_var_, training(), config_);
}

std::vector<EntrySlice> BatchNormalization::entry_slices() const {
  std::vector<EntrySlice> out;
  for (const char* name : {"gamma", "beta", "avg_mean", "avg_var"})
    out.push_back({name, 0, shard_});
  return out;
}

}  // namespace prism::nn

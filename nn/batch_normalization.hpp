// Batch normalization layer (Chainer's L.BatchNormalization) over axis 1 of [N, C] or
// [N, C, H, W].
#pragma once

#include "nn/module.hpp"
#include "ops/batch_normalization.hpp"

namespace prism::nn {

class BatchNormalization : public Module {
 public:
  // Parameters gamma [size] (ones) and beta [size] (zeros); buffers avg_mean [size] (zeros) and
  // avg_var [size] (ones), the running statistics. decay in [0, 1] (1 freezes them), eps > 0
  // (BatchNormConfig::check).
  explicit BatchNormalization(int64_t size, float decay = 0.9f, float eps = 2e-5f);
  // Any config, e.g. BatchNormConfig{.relu = true} for BN followed by a ReLU in one op.
  BatchNormalization(int64_t size, BatchNormConfig config);
  // For a channel-sharded input: this rank's slice of a BN over shard.channels channels, the
  // statistics and parameters of shard.count() channels (partitioned: each rank holds and saves
  // its own). x must hold exactly `shard`. ChannelShard{} is the replicated BN of the full size.
  BatchNormalization(ChannelShard shard, int64_t size, BatchNormConfig config = {});

  // Training mode: normalizes with the batch statistics and updates avg_mean and avg_var.
  // Evaluation mode: normalizes with avg_mean and avg_var and leaves them as they are.
  Variable forward(const Variable& x) override;

  const Variable& gamma() const { return gamma_; }
  const Variable& beta() const { return beta_; }
  const Tensor& avg_mean() const { return avg_mean_; }
  const Tensor& avg_var() const { return avg_var_; }
  const ChannelShard& shard() const { return shard_; }
  bool partitioned() const override { return shard_.sharded(); }
  // gamma, beta and the statistics: the shard's channels of the full BN's.
  std::vector<EntrySlice> entry_slices() const override;

 private:
  BatchNormConfig config_;
  ChannelShard shard_;
  Variable gamma_, beta_;
  Tensor avg_mean_, avg_var_;
};

}  // namespace prism::nn

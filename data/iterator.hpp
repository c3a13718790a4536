// Iterators: turn a Dataset into a stream of batches, with Chainer's epoch bookkeeping.
//
// Iterator is the interface the training loop sees; SerialIterator is the plain in-process one.
// Others (prefetching, multi-node: rank 0 iterates and broadcasts) implement the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/rng.hpp"
#include "data/dataset.hpp"

namespace prism::data {

struct Batch {
  Tensor x;       // [B, ...]: the examples' inputs stacked
  Labels labels;  // B labels
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// Copies dataset examples `indices` into one batch. All examples must have the same shape.
Batch make_batch(const Dataset& dataset, const std::vector<int64_t>& indices);

class Iterator {
 public:
  virtual ~Iterator() = default;

  // The next batch, or nullopt once a non-repeating iterator has finished its pass.
  virtual std::optional<Batch> next() = 0;
  // Completed epochs (passes over the dataset).
  virtual int64_t epoch() const = 0;
  // True right after the batch that completed an epoch (Chainer: the batch that crosses or
  // reaches the epoch end).
  virtual bool is_new_epoch() const = 0;
  // epoch() plus the fraction of the current epoch consumed, e.g. 1.25.
  virtual double epoch_detail() const = 0;
  // epoch_detail() before the last next() call; -1 before the first (Chainer, for triggers).
  virtual double previous_epoch_detail() const = 0;
  // Batches returned since construction or reset().
  virtual int64_t iteration() const = 0;
  // Back to epoch 0, position 0.
  virtual void reset() = 0;

  // Where the iterator stands, as integers: set_state() continues from there with exactly the
  // batches this iterator would have given (training snapshots). set_state() checks that the
  // state fits this iterator (same kind, dataset size, batch size and flags) and changes
  // nothing when it does not.
  virtual std::vector<int64_t> state() const = 0;
  virtual void set_state(const std::vector<int64_t>& state) = 0;
};

// Chainer's SerialIterator. Each epoch visits every example once, in a fresh random order when
// shuffling (Fisher-Yates with prism::Rng, so one seed gives the same batches everywhere) or in
// dataset order otherwise.
//  - repeat: batches are always full; a batch that crosses the end of an epoch is completed from
//    the start of the next epoch's order, and is_new_epoch() is true after it.
//  - no repeat: one pass; the last batch may be short, then next() returns nullopt.
// reset() starts again at epoch 0; when shuffling its order is drawn from the continuing
// generator, as in Chainer (construct a new iterator to replay the same batches).
// With repeat and batch_size > size(), one batch spans several epochs and each crossing counts.
class SerialIterator : public Iterator {
 public:
  SerialIterator(std::shared_ptr<const Dataset> dataset, int64_t batch_size, bool repeat = true,
                 bool shuffle = true, uint64_t seed = 0);

  std::optional<Batch> next() override;
  int64_t epoch() const override { return epoch_; }
  bool is_new_epoch() const override { return is_new_epoch_; }
  double epoch_detail() const override;
  double previous_epoch_detail() const override { return previous_epoch_detail_; }
  int64_t iteration() const override { return iteration_; }
  void reset() override;
  std::vector<int64_t> state() const override;
  void set_state(const std::vector<int64_t>& state) override;

  int64_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return *dataset_; }
  // The example order of the current epoch.
  const std::vector<int64_t>& order() const { return order_; }

 private:
  void new_order();

  std::shared_ptr<const Dataset> dataset_;
  int64_t batch_size_;
  bool repeat_;
  bool shuffle_;
  Rng rng_;
  std::vector<int64_t> order_;
  int64_t position_ = 0;  // index into order_ of the next example
  int64_t epoch_ = 0;
  bool is_new_epoch_ = false;
  double previous_epoch_detail_ = -1.0;
  int64_t iteration_ = 0;
};

}  // namespace prism::data

#include "data/iterator.hpp"

#include <algorithm>
#include <numeric>

namespace prism::data {

Batch make_batch(const Dataset& dataset, const std::vector<int64_t>& indices) {
  PRISM_CHECK(!indices.empty(), "make_batch: no indices");
  Batch batch;
  Shape example_shape;
  for (size_t b = 0; b < indices.size(); ++b) {
    Example e = dataset.get(indices[b]);
    PRISM_CHECK(e.x.defined(), "make_batch: example " << indices[b] << " has no input tensor");
    if (b == 0) {
      example_shape = e.x.shape();
      Shape shape{static_cast<int64_t>(indices.size())};
      shape.insert(shape.end(), example_shape.begin(), example_shape.end());
      batch.x = Tensor(shape);
      batch.labels.reserve(indices.size());
    }
    PRISM_CHECK(e.x.shape() == example_shape,
                "make_batch: example " << indices[b] << " has shape " << to_string(e.x.shape())
                                       << " but example " << indices[0] << " has shape "
                                       << to_string(example_shape));
    std::copy(e.x.data(), e.x.data() + e.x.numel(), batch.x.data() + b * e.x.numel());
    batch.labels.push_back(e.label);
  }
  return batch;
}

SerialIterator::SerialIterator(std::shared_ptr<const Dataset> dataset, int64_t batch_size,
                               bool repeat, bool shuffle, uint64_t seed)
    : dataset_(std::move(dataset)),
      batch_size_(batch_size),
      repeat_(repeat),
      shuffle_(shuffle),
      rng_(seed) {
  PRISM_CHECK(dataset_ != nullptr, "SerialIterator: the dataset is null");
  PRISM_CHECK(batch_size_ >= 1,
              "SerialIterator: batch_size must be at least 1, got " << batch_size_);
  PRISM_CHECK(dataset_->size() >= 1, "SerialIterator: the dataset is empty");
  reset();
}

void SerialIterator::new_order() {
  const int64_t n = dataset_->size();
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  // Fisher-Yates: a fresh uniform permutation each epoch, as Chainer's ShuffleOrderSampler.
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order_[i], order_[rng_.below(static_cast<uint64_t>(i) + 1)]);
}

void SerialIterator::reset() {
  position_ = 0;
  epoch_ = 0;
  is_new_epoch_ = false;
  previous_epoch_detail_ = -1.0;
  iteration_ = 0;
  new_order();
}

double SerialIterator::epoch_detail() const {
  return static_cast<double>(epoch_) +
         static_cast<double>(position_) / static_cast<double>(order_.size());
}

std::optional<Batch> SerialIterator::next() {
  previous_epoch_detail_ = epoch_detail();
  if (!repeat_ && epoch_ > 0) return std::nullopt;

  const int64_t n = static_cast<int64_t>(order_.size());
  std::vector<int64_t> indices;
  indices.reserve(batch_size_);
  is_new_epoch_ = false;
  while (static_cast<int64_t>(indices.size()) < batch_size_) {
    const int64_t take =
        std::min(batch_size_ - static_cast<int64_t>(indices.size()), n - position_);
    indices.insert(indices.end(), order_.begin() + position_, order_.begin() + position_ + take);
    position_ += take;
    if (position_ < n) break;
    // Reached the epoch end (exactly or by crossing it): Chainer counts the epoch on this batch.
    position_ = 0;
    ++epoch_;
    is_new_epoch_ = true;
    if (!repeat_) break;  // the last batch of the pass may be short
    new_order();
  }
  ++iteration_;
  return make_batch(*dataset_, indices);
}

}  // namespace prism::data

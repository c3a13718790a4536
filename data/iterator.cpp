#include "data/iterator.hpp"

#include <algorithm>
#include <bit>
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
  if (shuffle_) {  // a fresh permutation each epoch, as Chainer's ShuffleOrderSampler
    order_ = random_permutation(n, rng_);
    return;
  }
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
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

// The state's layout: a tag, the fixed fields, then the current epoch's order.
namespace {
constexpr int64_t kSerialTag = 0x5345524931;  // "SERI1"
enum Field : size_t {
  kTag,
  kSize,
  kBatch,
  kRepeat,
  kShuffle,
  kPosition,
  kEpoch,
  kNewEpoch,
  kPrevDetail,
  kIteration,
  kRng0,
  kOrder = kRng0 + 4
};
}  // namespace

std::vector<int64_t> SerialIterator::state() const {
  std::vector<int64_t> s{
      kSerialTag, dataset_->size(), batch_size_,
      repeat_,    shuffle_,         position_,
      epoch_,     is_new_epoch_,    std::bit_cast<int64_t>(previous_epoch_detail_),
      iteration_};
  for (uint64_t word : rng_.state())
    s.push_back(static_cast<int64_t>(word));
  s.insert(s.end(), order_.begin(), order_.end());
  return s;
}

void SerialIterator::set_state(const std::vector<int64_t>& s) {
  const int64_t n = dataset_->size();
  PRISM_CHECK(s.size() >= kOrder && s[kTag] == kSerialTag,
              "SerialIterator::set_state: not a SerialIterator state");
  PRISM_CHECK(s[kSize] == n, "SerialIterator::set_state: the state is for a dataset of "
                                 << s[kSize] << " examples, this one has " << n);
  PRISM_CHECK(s.size() == kOrder + static_cast<size_t>(n),
              "SerialIterator::set_state: the state's example order holds "
                  << s.size() - kOrder << " entries, not the dataset's " << n
                  << " (a truncated or corrupt state)");
  PRISM_CHECK(s[kBatch] == batch_size_ && s[kRepeat] == repeat_ && s[kShuffle] == shuffle_,
              "SerialIterator::set_state: the state is for batch size "
                  << s[kBatch] << ", repeat " << s[kRepeat] << ", shuffle " << s[kShuffle]
                  << "; this iterator has " << batch_size_ << ", " << repeat_ << ", " << shuffle_);
  PRISM_CHECK(s[kPosition] >= 0 && s[kPosition] < n && s[kEpoch] >= 0 && s[kIteration] >= 0,
              "SerialIterator::set_state: position " << s[kPosition] << ", epoch " << s[kEpoch]
                                                     << " or iteration " << s[kIteration]
                                                     << " is out of range");
  std::vector<bool> seen(n, false);
  for (size_t i = kOrder; i < s.size(); ++i) {
    PRISM_CHECK(s[i] >= 0 && s[i] < n && !seen[s[i]],
                "SerialIterator::set_state: the example order is not a permutation");
    seen[s[i]] = true;
  }
  position_ = s[kPosition];
  epoch_ = s[kEpoch];
  is_new_epoch_ = s[kNewEpoch] != 0;
  previous_epoch_detail_ = std::bit_cast<double>(s[kPrevDetail]);
  iteration_ = s[kIteration];
  Rng::State rng;
  for (size_t i = 0; i < rng.size(); ++i)
    rng[i] = static_cast<uint64_t>(s[kRng0 + i]);
  rng_.set_state(rng);
  order_.assign(s.begin() + kOrder, s.end());
}

}  // namespace prism::data

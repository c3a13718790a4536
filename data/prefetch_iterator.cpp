#include "data/prefetch_iterator.hpp"

#include "core/error.hpp"

namespace prism::data {

PrefetchIterator::PrefetchIterator(std::unique_ptr<Iterator> inner, int64_t depth)
    : inner_(std::move(inner)), depth_(static_cast<size_t>(depth)) {
  PRISM_CHECK(inner_ != nullptr, "PrefetchIterator: the inner iterator is null");
  PRISM_CHECK(depth >= 1, "PrefetchIterator: depth must be at least 1, got " << depth);
  now_ = position_of_inner();
  start();
}

PrefetchIterator::~PrefetchIterator() {
  stop();
}

PrefetchIterator::Position PrefetchIterator::position_of_inner() const {
  return {inner_->epoch(),
          inner_->iteration(),
          inner_->is_new_epoch(),
          inner_->epoch_detail(),
          inner_->previous_epoch_detail(),
          inner_->state()};
}

void PrefetchIterator::start() {
  stopping_ = finished_ = false;
  worker_ = std::thread([this] { work(); });
}

void PrefetchIterator::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  ready_.clear();
}

// The worker keeps up to depth_ items ready. After the end of a pass or an error it stops: the
// caller sees that item last, as it would have from the inner iterator.
void PrefetchIterator::work() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || ready_.size() < depth_; });
      if (stopping_) return;
    }
    Item item;
    try {
      item.batch = inner_->next();
      item.position = position_of_inner();
    } catch (...) {
      item.error = std::current_exception();
    }
    const bool last = !item.batch || item.error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(item));
      finished_ = last;
    }
    changed_.notify_all();
    if (last) return;
  }
}

std::optional<Batch> PrefetchIterator::next() {
  if (failed_) std::rethrow_exception(failed_);  // a failed iterator stays failed until reset
  Item item;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !ready_.empty() || finished_; });
    if (ready_.empty()) return std::nullopt;  // past the end, as the inner iterator would say
    item = std::move(ready_.front());
    ready_.pop_front();
  }
  changed_.notify_all();
  if (item.error) {
    failed_ = item.error;
    std::rethrow_exception(item.error);
  }
  now_ = std::move(item.position);
  return std::move(item.batch);
}

void PrefetchIterator::reset() {
  stop();
  failed_ = nullptr;
  // The thread ran ahead, perhaps into a new epoch whose shuffle advanced the generator: take
  // the inner iterator back to the caller's position, so reset() draws what it would have.
  inner_->set_state(now_.state);
  inner_->reset();
  now_ = position_of_inner();
  start();
}

void PrefetchIterator::set_state(const std::vector<int64_t>& state) {
  stop();
  try {
    inner_->set_state(state);
  } catch (...) {
    // Refused, so unchanged: but it ran ahead of the caller, so take it back to the last batch
    // returned and prepare from there again.
    inner_->set_state(now_.state);
    start();
    throw;
  }
  failed_ = nullptr;
  now_ = position_of_inner();
  start();
}

}  // namespace prism::data

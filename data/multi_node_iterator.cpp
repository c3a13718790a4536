#include "data/multi_node_iterator.hpp"

#include <cstring>

#include "dist/collectives.hpp"

namespace prism::data {

EmptyDataset::EmptyDataset(int64_t size) : size_(size) {
  PRISM_CHECK(size >= 0, "EmptyDataset: size must be >= 0, got " << size);
}

Example EmptyDataset::get_example(int64_t i) const {
  PRISM_FAIL("EmptyDataset: example " << i << " requested, but this rank holds no data (with a "
                                      << "MultiNodeIterator only the root rank reads examples)");
}

std::shared_ptr<EmptyDataset> create_empty_dataset(const Dataset& dataset) {
  return std::make_shared<EmptyDataset>(dataset.size());
}

MultiNodeIterator::MultiNodeIterator(const dist::Communicator& comm,
                                     std::unique_ptr<Iterator> actual, int root)
    : comm_(comm), actual_(std::move(actual)), root_(root) {
  PRISM_CHECK(root >= 0 && root < comm_.size(),
              "MultiNodeIterator: root " << root << " is not a rank");
  PRISM_CHECK(comm_.rank() != root || actual_, "MultiNodeIterator: the root needs an iterator");
  share_state();
}

void MultiNodeIterator::share_state() {
  double state[5] = {};
  if (comm_.rank() == root_) {
    state[0] = static_cast<double>(actual_->epoch());
    state[1] = actual_->is_new_epoch() ? 1.0 : 0.0;
    state[2] = actual_->epoch_detail();
    state[3] = actual_->previous_epoch_detail();
    state[4] = static_cast<double>(actual_->iteration());
  }
  // Doubles travel bitwise, as int64 (exact whatever their value).
  std::vector<int64_t> packed(5);
  std::memcpy(packed.data(), state, sizeof state);
  dist::bcast_values(comm_, packed, root_);
  std::memcpy(state, packed.data(), sizeof state);
  epoch_ = static_cast<int64_t>(state[0]);
  is_new_epoch_ = state[1] != 0.0;
  epoch_detail_ = state[2];
  previous_epoch_detail_ = state[3];
  iteration_ = static_cast<int64_t>(state[4]);
}

std::optional<Batch> MultiNodeIterator::next() {
  const bool is_root = comm_.rank() == root_;
  std::optional<Batch> batch;
  std::vector<uint8_t> has(1, 0);
  if (is_root) {
    batch = actual_->next();
    has[0] = batch.has_value();
  }
  dist::bcast_values(comm_, has, root_);
  if (has[0]) {
    if (!is_root) batch.emplace();
    batch->x = dist::bcast(comm_, is_root ? batch->x : Tensor(), root_);
    dist::bcast_values(comm_, batch->labels, root_);
  }
  share_state();
  return batch;
}

void MultiNodeIterator::reset() {
  if (comm_.rank() == root_) actual_->reset();
  share_state();
}

std::vector<int64_t> MultiNodeIterator::state() const {
  return comm_.rank() == root_ ? actual_->state() : std::vector<int64_t>{};
}

void MultiNodeIterator::set_state(const std::vector<int64_t>& state) {
  // Root's verdict goes to every rank first, so a bad state is an error everywhere, not a hang.
  std::vector<uint8_t> ok(1, 1);
  std::string why;
  if (comm_.rank() == root_) try {
      actual_->set_state(state);
    } catch (const std::exception& e) {
      ok[0] = 0;
      why = e.what();
    }
  dist::bcast_values(comm_, ok, root_);
  PRISM_CHECK(ok[0],
              "MultiNodeIterator::set_state: " << (why.empty() ? "root rejected the state" : why));
  share_state();
}

}  // namespace prism::data

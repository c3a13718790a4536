// Model parallelism feeds every rank the same batch: rank `root` iterates the real dataset and
// broadcasts each batch (ChainerMN's create_multi_node_iterator and create_empty_dataset).
//
//   auto [train, test] = data::load_mnist_like(dir);
//   std::shared_ptr<const data::Dataset> set = train;
//   if (comm.rank() != 0) set = data::create_empty_dataset(*train);
//   data::MultiNodeIterator it(comm, std::make_unique<data::SerialIterator>(set, 64));
//
// Inputs travel as floats and labels as int32 (never through float). epoch(), is_new_epoch(),
// epoch_detail(), iteration() and the end of a non-repeating pass are root's, on every rank.
#pragma once

#include <memory>

#include "data/iterator.hpp"
#include "dist/communicator.hpp"

namespace prism::data {

// A dataset of `size` examples that holds none: what non-root ranks of a multi-node iterator
// keep, so lengths (and epoch arithmetic) agree. get() throws, naming the rule.
class EmptyDataset : public Dataset {
 public:
  explicit EmptyDataset(int64_t size);
  int64_t size() const override { return size_; }

 protected:
  Example get_example(int64_t i) const override;

 private:
  int64_t size_;
};

std::shared_ptr<EmptyDataset> create_empty_dataset(const Dataset& dataset);

class MultiNodeIterator : public Iterator {
 public:
  // `actual` is used on root only (other ranks may pass one over an EmptyDataset, or null).
  MultiNodeIterator(const dist::Communicator& comm, std::unique_ptr<Iterator> actual, int root = 0);

  // Collective: every rank calls it, root's batch (or the end) arrives everywhere.
  std::optional<Batch> next() override;
  int64_t epoch() const override { return epoch_; }
  bool is_new_epoch() const override { return is_new_epoch_; }
  double epoch_detail() const override { return epoch_detail_; }
  double previous_epoch_detail() const override { return previous_epoch_detail_; }
  int64_t iteration() const override { return iteration_; }
  // Collective too: root resets its iterator and every rank takes its state.
  void reset() override;
  // Root's iterator's state (empty on the other ranks, which hold no real iterator).
  std::vector<int64_t> state() const override;
  // Collective: `state` is read on root only, and every rank takes the new counters.
  void set_state(const std::vector<int64_t>& state) override;

 private:
  void share_state();  // root's counters to every rank

  dist::Communicator comm_;
  std::unique_ptr<Iterator> actual_;
  int root_;
  int64_t epoch_ = 0, iteration_ = 0;
  bool is_new_epoch_ = false;
  double epoch_detail_ = 0.0, previous_epoch_detail_ = -1.0;
};

}  // namespace prism::data

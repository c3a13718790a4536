// A background thread prepares the next batches of an inner iterator while the caller trains,
// so loading (reading, decoding, copying into a batch) overlaps the step.
//
//   data::PrefetchIterator it(std::make_unique<data::SerialIterator>(train, 64), /*depth=*/2);
//
// It yields exactly the inner iterator's batches, in order, with the inner's epoch bookkeeping
// as of each batch. An error the inner iterator throws (a corrupt file, say) is rethrown in the
// caller's thread by the next() that would have returned that batch, and again by every next()
// until reset() or set_state(). The dataset is read from the background thread: datasets here
// are read-only once built, so that is safe for them.
//
// Under MPI, prefetch inside the multi-node iterator, never around it: its next() is a
// collective, and MPI calls stay on the main thread (MPI_THREAD_FUNNELED).
//   data::MultiNodeIterator it(comm, std::make_unique<data::PrefetchIterator>(
//                                        std::make_unique<data::SerialIterator>(set, 64)));
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "data/iterator.hpp"

namespace prism::data {

class PrefetchIterator : public Iterator {
 public:
  // depth: batches prepared ahead (at least 1).
  explicit PrefetchIterator(std::unique_ptr<Iterator> inner, int64_t depth = 2);
  ~PrefetchIterator() override;  // stops and joins the thread; pending batches are dropped
  PrefetchIterator(const PrefetchIterator&) = delete;
  PrefetchIterator& operator=(const PrefetchIterator&) = delete;

  std::optional<Batch> next() override;
  int64_t epoch() const override { return now_.epoch; }
  bool is_new_epoch() const override { return now_.is_new_epoch; }
  double epoch_detail() const override { return now_.epoch_detail; }
  double previous_epoch_detail() const override { return now_.previous_epoch_detail; }
  int64_t iteration() const override { return now_.iteration; }
  void reset() override;
  // The inner iterator's state as of the last batch returned (not of the batches prepared
  // ahead), so a snapshot resumes exactly there.
  std::vector<int64_t> state() const override { return now_.state; }
  void set_state(const std::vector<int64_t>& state) override;

 private:
  // The inner iterator's counters and state right after it produced a batch.
  struct Position {
    int64_t epoch = 0, iteration = 0;
    bool is_new_epoch = false;
    double epoch_detail = 0, previous_epoch_detail = -1;
    std::vector<int64_t> state;
  };
  struct Item {
    std::optional<Batch> batch;  // nullopt: the inner iterator ended
    Position position;
    std::exception_ptr error;
  };

  Position position_of_inner() const;
  void start();
  void stop();  // joins the thread and drops what it prepared
  void work();

  std::unique_ptr<Iterator> inner_;
  size_t depth_;
  Position now_;
  std::deque<Item> ready_;
  std::exception_ptr failed_;                 // the error last thrown by next(), until reset
  bool stopping_ = false, finished_ = false;  // finished_: the worker has queued its last item
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread worker_;
};

}  // namespace prism::data

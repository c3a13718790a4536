#include <doctest/doctest.h>

#include "data/multi_node_iterator.hpp"
#include "dist/communicator.hpp"
#include "numbered_dataset.hpp"

using namespace prism;

using prism::testing::numbered;

TEST_CASE("MultiNodeIterator: every rank gets root's batches and epoch bookkeeping") {
  const dist::Communicator comm = dist::Communicator::world();
  for (bool repeat : {false, true}) {
    INFO("repeat " << repeat);
    auto full = numbered(10);
    std::shared_ptr<const data::Dataset> mine = full;
    if (comm.rank() != 0) mine = data::create_empty_dataset(*full);
    CHECK(mine->size() == 10);
    data::MultiNodeIterator it(comm,
                               std::make_unique<data::SerialIterator>(mine, 3, repeat, true, 7));
    // What the root's iterator yields, rebuilt independently on every rank.
    data::SerialIterator reference(full, 3, repeat, true, 7);
    for (int step = 0; step < 9; ++step) {
      std::optional<data::Batch> got = it.next(), want = reference.next();
      REQUIRE(got.has_value() == want.has_value());
      CHECK(it.epoch() == reference.epoch());
      CHECK(it.is_new_epoch() == reference.is_new_epoch());
      CHECK(it.epoch_detail() == reference.epoch_detail());
      CHECK(it.previous_epoch_detail() == reference.previous_epoch_detail());
      CHECK(it.iteration() == reference.iteration());
      if (!got) break;
      CHECK(got->x.to_vector() == want->x.to_vector());
      CHECK(got->labels == want->labels);
    }
    if (!repeat) CHECK_FALSE(it.next().has_value());
  }
}

TEST_CASE("MultiNodeIterator: a label of 2^24 + 1 arrives unchanged; empty datasets refuse get") {
  const dist::Communicator comm = dist::Communicator::world();
  auto full = numbered(4);
  std::shared_ptr<const data::Dataset> mine = full;
  if (comm.rank() != 0) mine = data::create_empty_dataset(*full);
  data::MultiNodeIterator it(comm, std::make_unique<data::SerialIterator>(mine, 4, false, false));
  const std::optional<data::Batch> batch = it.next();
  REQUIRE(batch.has_value());
  CHECK(batch->labels.back() == 16777217);
  data::EmptyDataset empty(3);
  CHECK_THROWS_WITH_AS(empty.get(1), doctest::Contains("holds no data"), Error);
}

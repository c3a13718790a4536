#include <doctest/doctest.h>

#include <algorithm>

#include "data/scatter_dataset.hpp"
#include "data/synchronized_iterator.hpp"
#include "dist/collectives.hpp"
#include "dist/mpi_comm.hpp"
#include "numbered_dataset.hpp"

using namespace prism;

using prism::testing::numbered;

namespace {

// Every rank's labels, in rank order.
std::vector<int32_t> gather_labels(const dist::Communicator& comm, const Labels& mine) {
  std::vector<int32_t> all(mine.size() * static_cast<size_t>(comm.size()));
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_INT32_T, all.data(),
                static_cast<int>(mine.size()), MPI_INT32_T, dist::mpi_comm(comm));
  return all;
}

}  // namespace

TEST_CASE("scatter_dataset: equal parts that cover the dataset, in order or shuffled") {
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  for (int64_t n : {7, 12}) {
    for (bool shuffle : {false, true}) {
      CAPTURE(n);
      CAPTURE(shuffle);
      auto mine =
          data::scatter_dataset(comm, comm.rank() == 0 ? numbered(n) : nullptr, 0, shuffle, 5);
      REQUIRE(mine->size() == (n + p - 1) / p);
      for (int64_t i = 0; i < mine->size(); ++i) {  // inputs still belong to their labels
        const data::Example e = mine->get(i);
        const int32_t id = e.label == 16777217 ? static_cast<int32_t>(n - 1) : e.label;
        CHECK(e.x[0] == static_cast<float>(id));
      }
      std::vector<int32_t> all = gather_labels(comm, mine->labels());
      if (!shuffle) {
        const auto [begin, end] = data::scatter_range(n, p, comm.rank());
        CHECK(mine->labels()[0] == begin);
        CHECK(end - begin == mine->size());
      }
      std::sort(all.begin(), all.end());
      all.erase(std::unique(all.begin(), all.end()), all.end());
      CHECK(static_cast<int64_t>(all.size()) == n);  // every example somewhere
      CHECK(all.back() == 16777217);
    }
  }
  CHECK_THROWS_WITH_AS(data::scatter_dataset(comm, nullptr), doctest::Contains("null or empty"),
                       Error);
}

TEST_CASE("synchronized iterator: the same batches on every rank from root's seed") {
  const dist::Communicator comm = dist::Communicator::world();
  // Each rank passes its own seed; root's wins.
  auto it = data::make_synchronized_iterator(comm, numbered(9), 4, true, true,
                                             100 + static_cast<uint64_t>(comm.rank()));
  data::SerialIterator root_alone(numbered(9), 4, true, true, 100);
  for (int step = 0; step < 5; ++step) {
    const data::Batch b = *it->next();
    CHECK(b.labels == root_alone.next()->labels);
    const std::vector<int32_t> all = gather_labels(comm, b.labels);
    for (int r = 1; r < comm.size(); ++r)
      CHECK(std::equal(all.begin(), all.begin() + 4, all.begin() + 4 * r));
  }
  if (comm.size() > 1)
    CHECK_THROWS_WITH_AS(
        data::make_synchronized_iterator(comm, numbered(comm.rank() == 1 ? 8 : 9), 4),
        doctest::Contains("rank 1 has 8"), Error);
}

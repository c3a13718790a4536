#include <doctest/doctest.h>

#include "dist/collectives.hpp"
#include "gradcheck.hpp"

using namespace prism;
using namespace prism::dist;

namespace {

// Rank r's tensor: [r + 1, 3] holding 100 r + i.
Tensor rank_tensor(int r) {
  Tensor t({r + 1, 3});
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = static_cast<float>(100 * r + i);
  return t;
}

}  // namespace

TEST_CASE("collectives: allgather with a different shape on every rank") {
  const Communicator comm = Communicator::world();
  const std::vector<Tensor> all = allgather(comm, rank_tensor(comm.rank()));
  REQUIRE(static_cast<int>(all.size()) == comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    CHECK(all[r].shape() == Shape{r + 1, 3});
    CHECK(all[r].to_vector() == rank_tensor(r).to_vector());
    CHECK(reinterpret_cast<uintptr_t>(all[r].data()) % 64 == 0);
  }
  // Ranks of different dimension counts, up to 8; one rank with 9 makes every rank throw.
  const Shape mine(static_cast<size_t>(comm.rank() % 8 + 1), 1);
  const std::vector<Tensor> ones = allgather(comm, Tensor::full(mine, 2.0f));
  CHECK(ones.back().dim() == (comm.size() - 1) % 8 + 1);
  const Shape nine(static_cast<size_t>(comm.rank() == comm.size() - 1 ? 9 : 2), 1);
  CHECK_THROWS_WITH_AS(allgather(comm, Tensor(nine)), doctest::Contains("at most 8 travel"), Error);
}

TEST_CASE("collectives: bcast of tensors and of labels in their own type") {
  const Communicator comm = Communicator::world();
  const int root = comm.size() - 1;
  Tensor t = bcast(comm, comm.rank() == root ? rank_tensor(root) : Tensor(), root);
  CHECK(t.to_vector() == rank_tensor(root).to_vector());
  // 2^24 + 1 has no float: labels must never travel as floats.
  std::vector<int32_t> labels;
  if (comm.rank() == 0) labels = {16777217, -1, 7};
  bcast_values(comm, labels, 0);
  CHECK(labels == std::vector<int32_t>{16777217, -1, 7});
  CHECK_THROWS_WITH_AS(bcast(comm, Tensor({1}), comm.size()), doctest::Contains("is not a rank"),
                       Error);
}

TEST_CASE("collectives: allreduce sum and mean; mismatched shapes are an error") {
  const Communicator comm = Communicator::world();
  const int p = comm.size();
  Tensor t = Tensor::full({2, 2}, static_cast<float>(comm.rank() + 1));
  allreduce(comm, t);
  CHECK(t[3] == static_cast<float>(p * (p + 1) / 2));
  Tensor m = Tensor::full({3}, static_cast<float>(comm.rank()));
  allreduce(comm, m, ReduceOp::mean);
  CHECK(m[0] == doctest::Approx((p - 1) / 2.0));
  if (p > 1)
    CHECK_THROWS_WITH_AS(allreduce(comm, Tensor({comm.rank() + 1})),
                         doctest::Contains("shapes differ across ranks"), Error);
}

TEST_CASE("collectives: alltoall with uneven pieces, and reduce_scatter") {
  const Communicator comm = Communicator::world();
  const int p = comm.size(), me = comm.rank();
  std::vector<Tensor> send;
  for (int j = 0; j < p; ++j)  // to rank j: [me + j + 1] holding 10 me + j
    send.push_back(Tensor::full({me + j + 1}, static_cast<float>(10 * me + j)));
  const std::vector<Tensor> recv = alltoall(comm, send);
  for (int j = 0; j < p; ++j) {
    CHECK(recv[j].shape() == Shape{j + me + 1});
    CHECK(recv[j][0] == static_cast<float>(10 * j + me));
  }
  CHECK_THROWS_AS(alltoall(comm, std::vector<Tensor>{}), Error);

  // Every rank holds 0, 1, 2, ...; rank r gets the sum (p times) of its r + 1 elements.
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (int r = 0; r < p; ++r)
    counts.push_back(r + 1), total += r + 1;
  Tensor t({total});
  for (int64_t i = 0; i < total; ++i)
    t[i] = static_cast<float>(i);
  Tensor mine = reduce_scatter(comm, t, counts);
  const int64_t first = me * (me + 1) / 2;
  CHECK(mine.numel() == me + 1);
  CHECK(mine[0] == static_cast<float>(p * first));
  CHECK_THROWS_WITH_AS(reduce_scatter(comm, t, std::vector<int64_t>(p, 0)),
                       doctest::Contains("counts add up to 0"), Error);
}

TEST_CASE("collectives: split into even and odd ranks") {
  const Communicator comm = Communicator::world();
  const Communicator half = comm.split(comm.rank() % 2, comm.rank());
  CHECK(half.size() == (comm.size() + 1 - comm.rank() % 2) / 2);
  CHECK(half.rank() == comm.rank() / 2);
  Tensor t = Tensor::ones({1});
  allreduce(half, t);
  CHECK(t[0] == static_cast<float>(half.size()));
  CHECK_THROWS_AS(comm.split(-1, 0), Error);
}

#include <doctest/doctest.h>

#include "dist/functions.hpp"
#include "dist_gradcheck.hpp"

using namespace prism;
using namespace prism::dist;
using namespace prism::dist::functions;
using prism::testing::check_gradients_across;
using prism::testing::random_tensor;

TEST_CASE("dist functions: allgather gradient, ChainerMN's rule (sum over ranks)") {
  const Communicator comm = Communicator::world();
  Rng rng(10 + comm.rank());
  Tensor x = random_tensor({comm.rank() + 1, 2}, rng);
  // A nonlinear downstream that differs per rank (each rank its own projection).
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable y = concat(allgather(comm, v[0]), 0);
                           return mul(y, y);
                         },
                         {x});
}

TEST_CASE("dist functions: allgather gradient, local mode with an identical downstream") {
  const Communicator comm = Communicator::world();
  Rng rng(20 + comm.rank());
  Tensor x = random_tensor({2, comm.rank() + 2}, rng);
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable y = flatten(concat(allgather(comm, v[0], GradRule::exact), 1));
                           return mul(y, y);
                         },
                         {x}, {.same_projection = true, .per_rank_loss = true});
}

TEST_CASE("dist functions: pieces that miss the loss count as zero gradient") {
  const Communicator comm = Communicator::world();
  Variable x(Tensor::full({2}, 1.0f), true);
  std::vector<Variable> pieces = allgather(comm, x);
  sum(pieces[0]).backward();  // only rank 0's piece, on every rank
  CHECK(x.grad().to_vector() ==
        std::vector<float>(2, comm.rank() == 0 ? static_cast<float>(comm.size()) : 0.0f));
}

TEST_CASE("dist functions: bcast gradient reaches the root only") {
  const Communicator comm = Communicator::world();
  const int root = comm.size() / 2;
  Rng rng(30 + comm.rank());
  Tensor x = random_tensor({3, 2}, rng);
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable y = bcast(comm, v[0], root);
                           return mul(y, y);
                         },
                         {x});
  // A root input that needs no gradient gives an output that needs none, on every rank.
  Variable plain = bcast(comm, Variable(x), root);
  CHECK_FALSE(plain.requires_grad());
}

TEST_CASE("dist functions: alltoall gradient goes back where it came from") {
  const Communicator comm = Communicator::world();
  const int p = comm.size();
  Rng rng(40 + comm.rank());
  std::vector<Tensor> xs;
  for (int j = 0; j < p; ++j)
    xs.push_back(random_tensor({comm.rank() + j + 1}, rng));
  check_gradients_across(
      comm,
      [&](auto& v) {
        Variable y = concat(alltoall(comm, v), 0);
        return mul(y, y);
      },
      xs);
}

TEST_CASE("dist functions: sum_gradients makes a replicated input's gradient whole") {
  const dist::Communicator comm = Communicator::world();
  Rng rng(50);  // the same x on every rank
  Tensor x = random_tensor({2, 3}, rng);
  // Each rank uses x differently (its own projection): the total loss's derivative with
  // respect to the shared x is the sum of the ranks' parts, and every rank must hold it.
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable shared = sum_gradients(comm, v[0]);
                           return mul(shared, shared);
                         },
                         {x}, {.replicated_input = true});
}

TEST_CASE("dist functions: allgather_concat equals concat(allgather) on every axis") {
  const Communicator comm = Communicator::world();
  Rng rng(40 + comm.rank());
  for (int64_t axis = 0; axis < 3; ++axis) {
    CAPTURE(axis);
    Shape shape{2, 3, 2};
    shape[static_cast<size_t>(axis)] = comm.rank() % 3;  // uneven, and empty on some ranks
    const Tensor x = random_tensor(shape, rng);
    const std::vector<int64_t> extents = dist::gather_extents(comm, x, axis);
    const Tensor fused = dist::allgather_concat(comm, x, axis, extents);
    const Tensor reference = concat(allgather(comm, Variable(x)), axis).data();
    CHECK(fused.shape() == reference.shape());
    CHECK(fused.to_vector() == reference.to_vector());
    REQUIRE(extents.size() == static_cast<size_t>(comm.size()));
    CHECK(extents.back() == (comm.size() - 1) % 3);
  }
  if (comm.size() > 1)  // every rank sees the mismatch, so every rank throws
    CHECK_THROWS_WITH_AS(dist::gather_extents(comm, Tensor({2, comm.rank() + 1}), 0),
                         doctest::Contains("does not match"), Error);
  CHECK_THROWS_WITH_AS(dist::gather_extents(comm, Tensor({2}), 1),
                       doctest::Contains("no such axis"), Error);
  CHECK_THROWS_WITH_AS(dist::allgather_concat(comm, Tensor({2}), 0, {}),
                       doctest::Contains("extents must hold every rank's size"), Error);
}

TEST_CASE("dist functions: allgather_concat gradient, both modes") {
  const Communicator comm = Communicator::world();
  Rng rng(50 + comm.rank());
  Tensor x = random_tensor({2, comm.rank() + 1, 3}, rng);
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable y = allgather_concat(comm, v[0], 1);
                           return mul(y, y);
                         },
                         {x});
  std::vector<int64_t> known;  // the extents the caller knows: no shape exchange
  for (int r = 0; r < comm.size(); ++r)
    known.push_back(r + 1);
  check_gradients_across(comm,
                         [&](auto& v) {
                           Variable y = allgather_concat(comm, v[0], 1, GradRule::exact, known);
                           return mul(y, y);
                         },
                         {x}, {.same_projection = true, .per_rank_loss = true});
}

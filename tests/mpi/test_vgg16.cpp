#include <doctest/doctest.h>

#include <cstring>

#include "dist/collectives.hpp"
#include "dist/mpi_comm.hpp"
#include "gradcheck.hpp"
#include "prism_dist.hpp"

using namespace prism;

namespace {

// Rank 0's value of a float, bitwise, on every rank.
bool same_on_every_rank(const dist::Communicator& comm, float value) {
  Tensor mine = Tensor::scalar(value);
  const Tensor root = dist::bcast(comm, mine, 0);
  int differs = std::memcmp(root.data(), mine.data(), sizeof(float)) != 0, any = 0;
  MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, dist::mpi_comm(comm));
  return any == 0;
}

}  // namespace

TEST_CASE("VGG16: training steps give the same loss on every rank and keep replicas equal") {
  const dist::Communicator comm = dist::Communicator::world();
  manual_seed(0);
  auto vgg = std::make_shared<nn::VGG16>(comm, 3, 10);
  nn::Classifier model(vgg);
  nn::broadcast_replicated(comm, model);
  nn::check_replicated(comm, model);
  optim::MomentumSGD optimizer(model.named_parameters(), 0.01f);
  optimizer.set_weight_decay(5e-4f);

  Rng rng(3);  // the same batch on every rank, as the multi-node iterator delivers
  Tensor x = prism::testing::random_tensor({2, 3, 32, 32}, rng);
  const Labels t{1, 7};
  for (int step = 0; step < 2; ++step) {
    model.zero_grad();
    Variable loss = model(Variable(x), t);
    loss.backward();
    optimizer.update();
    CHECK(std::isfinite(model.loss()));
    CHECK(same_on_every_rank(comm, model.loss()));
  }
  nn::check_replicated(comm, model);

  // Each rank holds its slice of the parallel convolutions and all of the rest.
  int64_t local = 0;
  for (const Variable& p : model.parameters())
    local += p.data().numel();
  CHECK(local > 0);
  // Serial: the 13 convolutions, their BN (gamma, beta), fc 512x512, its BN, fc 512x10.
  const int64_t convs = 9 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 2 * 256 * 256 +
                             256 * 512 + 5 * 512 * 512);
  const int64_t bns = 2 * (2 * 64 + 2 * 128 + 3 * 256 + 6 * 512);
  if (comm.size() == 1) CHECK(local == convs + bns + 512 * 512 + 2 * 512 + 512 * 10);

  if (comm.size() > 1) {
    const NamedParameters replicated = model.named_replicated_parameters();
    if (comm.rank() == 1) replicated[3].second.data()[0] += 1.0f;
    CHECK_THROWS_WITH_AS(nn::check_replicated(comm, model),
                         doctest::Contains(replicated[3].first.c_str()), Error);
  }
}

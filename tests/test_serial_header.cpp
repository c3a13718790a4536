// prism.hpp is for single-process programs: it must not pull in mpi.h (MPICH's and Open MPI's
// mpi.h both define MPI_VERSION), and what it declares is enough to train a model.
#include "prism.hpp"

#ifdef MPI_VERSION
#error "prism.hpp includes mpi.h: a single-process program should need no MPI headers"
#endif

#include <doctest/doctest.h>

using namespace prism;

TEST_CASE("prism.hpp alone trains a model, through the trainer's default communicator") {
  Rng rng(3);
  nn::Sequential model;
  model.add(std::make_shared<nn::Linear>(4, 2));
  optim::MomentumSGD optimizer(model.named_parameters(), 0.1f);
  Tensor x({16, 4});
  rng.fill_uniform(x, -1.0f, 1.0f);
  Labels t(16);
  for (int64_t i = 0; i < 16; ++i)
    t[i] = x[i * 4] > 0 ? 1 : 0;  // the sign of the first feature
  auto loss_now = [&] { return softmax_cross_entropy(model(Variable(x)), t).data()[0]; };
  const float before = loss_now();
  for (int step = 0; step < 50; ++step) {
    model.zero_grad();
    softmax_cross_entropy(model(Variable(x)), t).backward();
    optimizer.update();
  }
  CHECK(loss_now() < 0.5f * before);
  const dist::Communicator alone;  // declared by prism.hpp without MPI
  CHECK(alone.rank() == 0);
  CHECK(alone.size() == 1);
}

// The data x model grid against its definition: on every grid of the job's ranks (model groups
// of M, for every M that divides the rank count), the groups training their parts of a batch
// with optim::DataParallel and synchronized BN over the data groups train what one model group
// trains on the whole batch (pure model parallelism at P = M; one process at M = 1).
#include <doctest/doctest.h>

#include "dist/functions.hpp"
#include "dist/grid.hpp"
#include "dist_gradcheck.hpp"
#include "nn/linear.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/replicated.hpp"
#include "nn/sequential.hpp"
#include "nn/sync_batch_normalization.hpp"
#include "ops/pooling.hpp"
#include "ops/shape.hpp"
#include "optim/data_parallel.hpp"
#include "optim/momentum_sgd.hpp"
#include "whole_batch.hpp"

using namespace prism;

namespace {

constexpr int64_t kBatch = 12;  // the global batch: splits evenly over 1 to 4 groups

// Two filter-partition conv + BN-ReLU blocks (sharded activations) with a pooling between,
// then the gathered channels through a linear layer: [N, 3, 8, 8] -> [N, 3]. BN synchronized
// over `data` when it has more than one rank.
std::shared_ptr<nn::Sequential> small_model(const dist::Communicator& model,
                                            const dist::Communicator& data) {
  using nn::ParallelConvolution2D;
  const BatchNormConfig bn =
      data.size() > 1 ? nn::synchronized(data, {.relu = true}) : BatchNormConfig{.relu = true};
  auto net = std::make_shared<nn::Sequential>();
  int64_t in = 3;
  for (int64_t out : {8, 6}) {
    auto conv = std::make_shared<ParallelConvolution2D>(model, in, out, 3, 1, 1, true,
                                                        dist::GradRule::exact, nn::Layout::sharded,
                                                        nn::Partition::filter);
    net->add(conv);
    net->add(std::make_shared<nn::BatchNormalization>(conv->output_shard(), out, bn));
    if (in == 3) net->add([](const Variable& x) { return max_pooling_2d(x, 2); });
    in = out;
  }
  net->add(
      [model](const Variable& x) { return flatten(dist::functions::gather_channels(model, x)); });
  net->add(std::make_shared<nn::Linear>(6 * 4 * 4, 3));
  return net;
}

}  // namespace

TEST_CASE("Grid: model groups of M and data groups across them") {
  const dist::Communicator world = dist::Communicator::world();
  const int p = world.size();
  for (int m = 1; m <= p; ++m) {
    if (p % m != 0) {
      CHECK_THROWS_WITH_AS(dist::Grid(world, m), doctest::Contains("do not split into model"),
                           Error);
      continue;
    }
    const dist::Grid grid(world, m);
    CHECK(grid.model.size() == m);
    CHECK(grid.data.size() == p / m);
    CHECK(grid.model.rank() == world.rank() % m);
    CHECK(grid.data.rank() == world.rank() / m);
  }
}

TEST_CASE("Grid: data-parallel model groups train what one model group trains on the batch") {
  const dist::Communicator world = dist::Communicator::world();
  for (int m = 1; m <= world.size(); ++m) {
    if (world.size() % m != 0) continue;
    CAPTURE(m);
    const dist::Grid grid(world, m);
    const int64_t part = kBatch / grid.data.size(), first = part * grid.data.rank();
    manual_seed(9);
    auto whole = small_model(grid.model, dist::Communicator());  // the whole batch, no grid
    manual_seed(9);
    auto gridded = small_model(grid.model, grid.data);
    optim::MomentumSGD whole_opt(whole->named_parameters(), 0.1f);
    optim::MomentumSGD grid_opt(gridded->named_parameters(), 0.1f);
    optim::DataParallel data_parallel(grid.data, grid_opt, 2000);

    testing::check_part_trains_like_whole(*whole, whole_opt, *gridded, grid_opt, {3, 8, 8}, kBatch,
                                          first, part, 2, 13);
    // Replicated within the model group (the linear layer) and equal, bitwise, across the data
    // group: what snapshots and parameter files, written by data rank 0 alone, rely on.
    nn::check_replicated(grid.model, *gridded);
    for (const auto& [name, t] : gridded->named_tensors()) {
      CAPTURE(name);
      CHECK(t.to_vector() == dist::bcast(grid.data, t, 0).to_vector());
    }
  }
}

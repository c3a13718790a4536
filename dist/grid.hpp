// A data x model grid of a job's ranks (Megatron's tensor x data groups, LBANN's model and data
// parallelism): `model_ranks` consecutive ranks form a model group, which runs one model-
// parallel model (its parallel convolutions and sharded activations communicate in `model`);
// the ranks at the same place of every model group form a data group (`data`): they hold the
// same slice of every parameter and train it on different parts of the batch, so a slice's
// gradient is averaged among them alone (LBANN's segmented allreduce, SC19; optim::DataParallel on
// `data`), and a synchronized BN reduces its statistics among them too.
//
//   6 ranks, model_ranks 3:  model groups {0 1 2} {3 4 5};  data groups {0 3} {1 4} {2 5}
//
// model_ranks = world.size() is pure model parallelism (data groups of one), model_ranks = 1
// pure data parallelism.
#pragma once

#include "dist/communicator.hpp"

namespace prism::dist {

struct Grid {
  // Collective on world. model_ranks must divide world.size(): an error otherwise, saying so.
  Grid(const Communicator& world, int model_ranks);

  Communicator model;  // this rank's model group; model.rank() is its place in it
  Communicator data;   // the ranks at that place in every group; data.rank() is its group
};

}  // namespace prism::dist

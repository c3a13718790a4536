// Data parallelism's dataset split (ChainerMN's scatter_dataset): rank `root` holds the dataset,
// and every rank receives its own part of it.
//
//   std::shared_ptr<const data::Dataset> all = comm.rank() == 0 ? load(...) : nullptr;
//   auto mine = data::scatter_dataset(comm, all, 0, /*shuffle=*/true, /*seed=*/0);
//
// The n examples, in dataset order or in a permutation drawn from `seed`, are cut into
// comm.size() parts of ceil(n / size) examples each: part r starts at n * r / size, so
// neighbouring parts overlap by an example where n does not divide evenly (ChainerMN's
// force_equal_length), and every rank runs the same number of steps per epoch. Inputs travel
// as floats and labels as int32. Collective; `dataset` is read on root only (others may pass
// null). An error on root (e.g. examples of different shapes) is thrown on every rank.
#pragma once

#include <memory>

#include "data/dataset.hpp"
#include "dist/communicator.hpp"

namespace prism::data {

std::shared_ptr<TensorDataset> scatter_dataset(const dist::Communicator& comm,
                                               std::shared_ptr<const Dataset> dataset, int root = 0,
                                               bool shuffle = false, uint64_t seed = 0);

// The indices of part `rank` of `size` over n examples, in the order above's positions (before
// any permutation): [n * rank / size, n * rank / size + ceil(n / size)).
std::pair<int64_t, int64_t> scatter_range(int64_t n, int size, int rank);

}  // namespace prism::data

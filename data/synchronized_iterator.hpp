// Model parallelism without sending batches (ChainerMN's create_synchronized_iterator): every
// rank holds the whole dataset and iterates it with rank root's shuffling seed, so every rank
// draws the same batches by itself. The alternative to data::MultiNodeIterator when every rank
// can load the data: no broadcast per batch.
#pragma once

#include <memory>

#include "data/iterator.hpp"
#include "dist/communicator.hpp"

namespace prism::data {

// Collective. Every rank's dataset must have the same size (checked on every rank, so a
// mismatch is an error everywhere); root's seed is the one used.
std::unique_ptr<SerialIterator> make_synchronized_iterator(const dist::Communicator& comm,
                                                           std::shared_ptr<const Dataset> dataset,
                                                           int64_t batch_size, bool repeat = true,
                                                           bool shuffle = true, uint64_t seed = 0,
                                                           int root = 0);

}  // namespace prism::data

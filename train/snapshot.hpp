// Training snapshots (Chainer's snapshot extension): everything a run needs to continue exactly
// where it stopped. A run resumed from the snapshot of epoch N trains on the same batches with
// the same dropout masks and reaches bitwise the same parameters as one never stopped.
//
// A snapshot holds:
//  - "model/<name>": the model's parameters and buffers (BN running statistics);
//  - "optimizer/<name>": the optimizer's state (see Optimizer::state());
//  - "iterator": the training iterator's position and shuffling generator;
//  - "rng": the global generator (dropout masks);
//  - "log", "elapsed": the log rows so far and the training time, so both continue.
//
// Model-parallel runs (a communicator of P ranks): replicated entries are stored once, rank 0's;
// each rank's partitioned entries (its ParallelConvolution2D slices and their optimizer slots)
// travel to rank 0 and are stored as "rank<r>/model/<name>" and "rank<r>/optimizer/<name>".
// (They travel by allgather, one tensor at a time, and loading broadcasts the whole file, so
// every rank briefly holds every slice: fine for VGG16's 61 MB, not for models near 2 GiB, the
// broadcast's limit.) Only rank 0 writes or reads the file (through a temporary file and a
// rename, so a crash never leaves half a snapshot); an error there is thrown on every rank.
// Resuming needs the same number of ranks. Both calls are collective: every rank calls them with
// its own model, optimizer (built from that model's parameters) and iterator (a multi-node
// iterator must have its root on rank 0). A single process passes dist::Communicator(), which
// needs no MPI: with one rank nothing is communicated.
#pragma once

#include <string>
#include <vector>

#include "data/iterator.hpp"
#include "dist/communicator.hpp"
#include "nn/module.hpp"
#include "optim/optimizer.hpp"
#include "train/observation.hpp"

namespace prism::train {

// What the training loop itself carries across a snapshot.
// The Trainer's sums behind its rows' training means: since the epoch began, and since the
// last row (log_every). Zero at an epoch's end; a run stopped mid-epoch saves them.
struct RunningMeans {
  double loss_sum = 0, accuracy_sum = 0;
  int64_t steps = 0;
  double interval_loss = 0, interval_accuracy = 0;
  int64_t interval_steps = 0;
};

struct TrainingProgress {
  std::vector<Observation> log;  // the log rows so far
  double elapsed_seconds = 0;    // training time so far
  RunningMeans running;          // absent from older snapshots: zeros
};

void save_snapshot(const dist::Communicator& comm, const std::string& path, const nn::Module& model,
                   const optim::Optimizer& optimizer, const data::Iterator& train,
                   const TrainingProgress& progress);

// Checks everything (rank count, every entry's presence and shape, the iterator's fit) before
// changing anything; on any error every rank throws and nothing has changed.
TrainingProgress load_snapshot(const dist::Communicator& comm, const std::string& path,
                               nn::Module& model, optim::Optimizer& optimizer,
                               data::Iterator& train);

}  // namespace prism::train

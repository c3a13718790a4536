// The training loop, in the spirit of Chainer's Trainer with its standard extensions: each
// step takes a batch, runs forward, backward and the optimizer; at each epoch's end it
// evaluates on the test iterator, prints a table row (PrintReport), appends to the JSON log
// (LogReport, <out>/log), draws <out>/loss.png and <out>/accuracy.png (PlotReport), writes a
// snapshot every `snapshot_every` epochs, and keeps a progress bar going in between (with
// `log_every`, the log and the plots get a training row every that many iterations too).
//
//   train::Trainer trainer(model, optimizer, train_iter, make_test_iter,
//                       {.epochs = 20, .out = "result", .snapshot_every = 5});
//   if (resuming) trainer.resume("result/snapshot_epoch_5");
//   trainer.run();
//
// Under MPI every rank runs the loop (the iterators deliver the same batches, see
// data::MultiNodeIterator) and only the rank with `report = true` prints and writes its files.
// Snapshots are collective (give `comm`) and written by its rank 0: see train/snapshot.hpp.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "data/iterator.hpp"
#include "dist/communicator.hpp"
#include "nn/classifier.hpp"
#include "optim/optimizer.hpp"
#include "train/log_report.hpp"
#include "train/snapshot.hpp"

namespace prism::train {

class ProgressBar;

struct TrainerConfig {
  int64_t epochs = 1;
  std::string out;             // folder for the log, plots and snapshots; empty: no files
  bool report = true;          // this process prints and writes the log and plots
  bool progress = true;        // draw the progress bar (on stderr)
  int64_t snapshot_every = 0;  // epochs between snapshots <out>/snapshot_epoch_<N>; 0: none
  // Also log and plot the training loss and accuracy (their means since the last row) every
  // `log_every` iterations, as Chainer's PlotReport with an iteration trigger does, so a short
  // run draws a curve; these rows have a fractional epoch and no validation values, and every
  // row's training means are over the iterations since the row before. 0: only at each
  // epoch's end, with the epoch's means.
  int64_t log_every = 0;
  dist::Communicator comm{};  // model-parallel runs: snapshots go through it; default: alone
  // Data-parallel runs (optim::DataParallel, dist::Grid): the ranks that train the same model on
  // the other parts of each batch, one per model group. Every row's training and validation
  // means are then the whole batch's and the test set's (each data rank's test iterator passes
  // over its own part of it; with data::scatter_dataset's parts, up to D - 1 examples count
  // twice where D does not divide the test set), the same on every rank; the snapshots are written
  // by data rank 0's model group alone (every group holds the same state) and read by every group,
  // and a stop is agreed over both communicators. Default: alone.
  dist::Communicator data{};
};

class Trainer {
 public:
  // make_test_iterator: a fresh pass over the test set (non-repeating) for each evaluation.
  Trainer(nn::Classifier& model, optim::Optimizer& optimizer, data::Iterator& train,
          std::function<std::unique_ptr<data::Iterator>()> make_test_iterator,
          TrainerConfig config);

  // Continues from a snapshot (before run()): model, optimizer, iterator, generator, log and
  // elapsed time as they were. Collective, like the snapshot itself.
  void resume(const std::string& snapshot);

  // Trains until the train iterator has completed config.epochs epochs, or until a stop is
  // requested (train/stop.hpp: SIGTERM, SIGINT or request_stop(), on any rank): then every rank
  // stops after the same step and, with config.out, a snapshot <out>/snapshot_iter_<N> is
  // written that resume() continues exactly.
  enum class RunEnd { completed, stopped };
  RunEnd run();

  const LogReport& log() const { return log_; }
  // The snapshot a stopped run wrote (empty without config.out, or if none stopped), and the
  // signal that stopped it, the same on every rank (0: request_stop() without one; -1: none).
  const std::string& stop_snapshot() const { return stop_snapshot_; }
  int stop_signal() const { return stop_signal_; }

 private:
  RunEnd run_with(ProgressBar& bar, bool show);
  void snapshot(const std::string& path, double elapsed);  // collective on config.comm

  nn::Classifier& model_;
  optim::Optimizer& optimizer_;
  data::Iterator& train_;
  std::function<std::unique_ptr<data::Iterator>()> make_test_;
  TrainerConfig config_;
  LogReport log_;
  double elapsed_before_ = 0;  // training time before a resume
  RunningMeans running_;
  std::string stop_snapshot_;
  int stop_signal_ = -1;
};

// Mean loss and accuracy over one pass of `it`, in eval mode without a graph (weighted by
// batch size). The model is back in training mode afterwards. With `data`, over the passes of
// every rank of it (collective), each example weighted alike.
std::pair<double, double> evaluate(nn::Classifier& model, data::Iterator& it,
                                   const dist::Communicator& data = {});

}  // namespace prism::train

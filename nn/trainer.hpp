// The training loop, in the spirit of Chainer's Trainer with its standard extensions: each
// step takes a batch, runs forward, backward and the optimizer; at each epoch's end it
// evaluates on the test iterator, prints a table row (PrintReport), appends to the JSON log
// (LogReport, <out>/log) and keeps a progress bar going in between.
//
//   nn::Trainer trainer(model, optimizer, train_iter, make_test_iter, {.epochs = 20, .out =
//   "result"}); trainer.run();
//
// Under MPI every rank runs the loop (the iterators deliver the same batches, see
// data::MultiNodeIterator) and only the rank with `report = true` prints and writes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "data/iterator.hpp"
#include "nn/classifier.hpp"
#include "nn/log_report.hpp"
#include "nn/optimizer.hpp"

namespace prism::nn {

struct TrainerConfig {
  int64_t epochs = 1;
  std::string out;       // folder for the log; empty: no files
  bool report = true;    // this process prints and writes
  bool progress = true;  // draw the progress bar (on stderr)
};

class Trainer {
 public:
  // make_test_iterator: a fresh pass over the test set (non-repeating) for each evaluation.
  Trainer(Classifier& model, Optimizer& optimizer, data::Iterator& train,
          std::function<std::unique_ptr<data::Iterator>()> make_test_iterator,
          TrainerConfig config);

  // Trains until the train iterator has completed config.epochs epochs.
  void run();

  const LogReport& log() const { return log_; }

 private:
  Classifier& model_;
  Optimizer& optimizer_;
  data::Iterator& train_;
  std::function<std::unique_ptr<data::Iterator>()> make_test_;
  TrainerConfig config_;
  LogReport log_;
};

// Mean loss and accuracy over one pass of `it`, in eval mode without a graph (weighted by
// batch size). The model is back in training mode afterwards.
std::pair<double, double> evaluate(Classifier& model, data::Iterator& it);

}  // namespace prism::nn

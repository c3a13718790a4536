// A one-line training progress bar, redrawn in place (Chainer's ProgressBar, condensed):
//
//   epoch 2/5 [##########..........] 41.3%  1210 iter  38.2 it/s  ETA 0:01:12  loss 0.4120
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>

namespace prism::train {

class ProgressBar {
 public:
  // total_epochs > 0; the bar redraws at most every `interval_seconds` to keep the log short.
  explicit ProgressBar(int64_t total_epochs, std::ostream& out = std::cerr,
                       double interval_seconds = 0.2);

  // iteration: steps done so far; epoch_detail: epochs done, fractional (the iterator's).
  void update(int64_t iteration, double epoch_detail, double loss);
  // Clears the line, so a table row printed next starts clean.
  void clear();
  // Ends the line, keeping what it shows, so an error printed next starts on its own line.
  void end_line();

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_epochs_;
  std::ostream& out_;
  double interval_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace prism::train

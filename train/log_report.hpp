// The training log (Chainer's LogReport): one JSON object per epoch, one per line, e.g.
//
//   {"epoch": 1, "iteration": 938, "main/loss": 0.446731, "main/accuracy": 0.839899, ...}
//
// The whole file is rewritten at every add() through a temporary file and a rename, so it is
// always complete; entries() lets a snapshot carry the log and a resumed run continue it.
#pragma once

#include <string>
#include <vector>

#include "train/observation.hpp"

namespace prism::train {

class LogReport {
 public:
  // An empty path keeps the log in memory only (e.g. on ranks that do not write).
  explicit LogReport(std::string path);

  void add(const Observation& entry);
  const std::vector<Observation>& entries() const { return entries_; }
  void set_entries(std::vector<Observation> entries);  // for resuming; rewrites the file

  // One entry as a JSON object (keys escaped, numbers with 9 significant digits).
  static std::string to_json(const Observation& entry);

 private:
  void write() const;

  std::string path_;
  std::vector<Observation> entries_;
};

}  // namespace prism::train

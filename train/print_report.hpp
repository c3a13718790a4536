// Prints one table row per epoch (Chainer's PrintReport):
//
//   epoch  main/loss  validation/main/loss  main/accuracy  validation/main/accuracy  elapsed_time
//   1      0.5123     0.4012                0.8121         0.8534                    31.2
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "train/observation.hpp"

namespace prism::train {

class PrintReport {
 public:
  explicit PrintReport(std::vector<std::string> keys, std::ostream& out = std::cout);
  // The header goes out before the first row.
  void print(const Observation& row);

 private:
  std::vector<std::string> keys_;
  std::ostream& out_;
  bool header_done_ = false;
};

}  // namespace prism::train

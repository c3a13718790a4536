// One epoch's results by name ("main/loss", "validation/main/accuracy", ...), in any order:
// what the trainer reports, logs, plots and keeps in snapshots.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace prism::train {

using Observation = std::vector<std::pair<std::string, double>>;

}  // namespace prism::train

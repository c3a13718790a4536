#include "train/print_report.hpp"

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"

namespace prism::train {

PrintReport::PrintReport(std::vector<std::string> keys, std::ostream& out)
    : keys_(std::move(keys)), out_(out) {
  PRISM_CHECK(!keys_.empty(), "PrintReport: needs at least one key");
}

void PrintReport::print(const Observation& row) {
  // Each column is as wide as its key plus two spaces, as in Chainer.
  if (!header_done_) {
    for (const std::string& key : keys_)
      out_ << key << "  ";
    out_ << '\n';
    header_done_ = true;
  }
  for (const std::string& key : keys_) {
    std::string cell;
    for (const auto& [name, value] : row)
      if (name == key) {
        char buf[32];
        // Counters print as integers, everything else with 4 decimals.
        if (key == "epoch" || key == "iteration")
          std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value));
        else
          std::snprintf(buf, sizeof buf, "%.4f", value);
        cell = buf;
      }
    cell.resize(std::max(cell.size(), key.size() + 2), ' ');
    out_ << cell;
  }
  out_ << '\n' << std::flush;
}

}  // namespace prism::train

#include "train/log_report.hpp"

#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/file.hpp"

namespace prism::train {

LogReport::LogReport(std::string path) : path_(std::move(path)) {}

std::string LogReport::to_json(const Observation& entry) {
  std::string out = "{";
  for (const auto& [key, value] : entry) {
    if (out.size() > 1) out += ", ";
    out += '"';
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\": ";
    char number[32];
    if (!std::isfinite(value))
      std::snprintf(number, sizeof number, "null");  // JSON has no NaN or infinity
    else if ((key == "epoch" || key == "iteration") && value == std::floor(value))
      std::snprintf(number, sizeof number, "%lld", static_cast<long long>(value));
    else
      std::snprintf(number, sizeof number, "%.9g", value);
    out += number;
  }
  return out + "}";
}

void LogReport::add(const Observation& entry) {
  entries_.push_back(entry);
  write();
}

void LogReport::set_entries(std::vector<Observation> entries) {
  entries_ = std::move(entries);
  write();
}

void LogReport::write() const {
  if (path_.empty()) return;
  std::string text;
  for (const Observation& e : entries_)
    text += to_json(e) + '\n';
  write_file_atomic(path_, text, "LogReport");
}

}  // namespace prism::train

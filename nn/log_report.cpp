#include "nn/log_report.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace prism::nn {

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
    else if (key == "epoch" || key == "iteration")
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
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    PRISM_CHECK(f, "LogReport: cannot open " << tmp << " for writing");
    for (const Observation& e : entries_)
      f << to_json(e) << '\n';
    f.flush();
    PRISM_CHECK(f, "LogReport: writing " << tmp << " failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  PRISM_CHECK(!ec, "LogReport: cannot rename " << tmp << " to " << path_ << ": " << ec.message());
}

}  // namespace prism::nn

#include "core/profiler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <sstream>

#include "core/allocator.hpp"

namespace prism::profile {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Recorder {
  std::mutex mutex;
  std::map<std::string, Row> rows;
  int64_t since_ns = 0;
};
Recorder& recorder() {
  static Recorder* r = new Recorder;  // never destroyed: the exit report may run late
  return *r;
}

std::atomic<bool> g_enabled{false};  // read by every Scope, without the lock
thread_local Scope* t_innermost = nullptr;
thread_local const char* t_op = nullptr;
thread_local Phase t_phase = Phase::forward;

void print_at_exit() {
  const std::string table = report(1);
  std::fputs(table.c_str(), stderr);
}

// PRISM_PROFILE=1 turns the profiler on before main.
[[maybe_unused]] const bool g_from_env = [] {
  const char* env = std::getenv("PRISM_PROFILE");
  if (env == nullptr || std::strcmp(env, "1") != 0) return false;
  enable(true);
  std::atexit(print_at_exit);
  return true;
}();

}  // namespace

bool enabled() {
  return g_enabled;
}

void enable(bool on) {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  if (on) {
    r.rows.clear();
    r.since_ns = now_ns();
  }
  g_enabled = on;
}

const char* current_op() {
  return t_op;
}

Scope::Scope(const char* op) : Scope(op, t_phase) {}

Scope::Scope(const char* op, Phase phase)
    : op_(op), outer_op_(t_op), phase_(phase), outer_phase_(t_phase), timing_(g_enabled) {
  t_op = op;
  t_phase = phase;
  if (!timing_) return;
  parent_ = t_innermost;
  t_innermost = this;
  start_bytes_ = memory::thread_allocated_bytes();
  start_ns_ = now_ns();
}

Scope::~Scope() {
  t_op = outer_op_;
  t_phase = outer_phase_;
  if (!timing_) return;
  const int64_t ns = now_ns() - start_ns_;
  const int64_t bytes = memory::thread_allocated_bytes() - start_bytes_;
  t_innermost = parent_;
  if (parent_ != nullptr) {
    parent_->child_ns_ += ns;
    parent_->child_bytes_ += bytes;
  }
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  try {
    Row& row = r.rows[op_];
    row.op = op_;
    (phase_ == Phase::forward ? row.forward_ns : row.backward_ns) += ns - child_ns_;
    ++(phase_ == Phase::forward ? row.calls : row.backward_calls);
    row.bytes += bytes - child_bytes_;
    row.flops += flops_;
  } catch (const std::bad_alloc&) {  // a destructor must not throw: the sample is lost
  }
}

void add_flops(double flops) {
  if (t_innermost != nullptr) t_innermost->flops_ += flops;
}

std::vector<Row> rows() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mutex);
  std::vector<Row> out;
  int64_t covered = 0;
  for (const auto& [name, row] : r.rows) {
    out.push_back(row);
    covered += row.forward_ns + row.backward_ns;
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return a.forward_ns + a.backward_ns > b.forward_ns + b.backward_ns;
  });
  Row outside;
  outside.op = "(outside ops)";
  outside.forward_ns = std::max<int64_t>(0, now_ns() - r.since_ns - covered);
  out.push_back(outside);
  return out;
}

std::string report(int64_t steps) {
  const std::vector<Row> all = rows();
  int64_t total = 0;
  for (const Row& row : all)
    total += row.forward_ns + row.backward_ns;
  const double per = static_cast<double>(std::max<int64_t>(steps, 1));
  std::ostringstream out;
  char line[160];
  std::snprintf(line, sizeof line, "%-22s %8s %12s %12s %8s %10s %8s\n", "op", "calls",
                "forward ms", "backward ms", "share", "MB alloc", "GFLOP");
  out << "prism profile: per step, the mean of " << steps << (steps == 1 ? " step" : " steps")
      << "\n"
      << line;
  for (const Row& row : all) {
    std::snprintf(line, sizeof line, "%-22s %8.1f %12.2f %12.2f %7.1f%% %10.1f %8.2f\n",
                  row.op.c_str(),
                  static_cast<double>(row.calls > 0 ? row.calls : row.backward_calls) / per,
                  static_cast<double>(row.forward_ns) / 1e6 / per,
                  static_cast<double>(row.backward_ns) / 1e6 / per,
                  total > 0 ? 100.0 * static_cast<double>(row.forward_ns + row.backward_ns) /
                                  static_cast<double>(total)
                            : 0.0,
                  static_cast<double>(row.bytes) / 1e6 / per, row.flops / 1e9 / per);
    out << line;
  }
  std::snprintf(line, sizeof line, "%-22s %8s %12.2f\n", "total (wall)", "",
                static_cast<double>(total) / 1e6 / per);
  out << line;
  return out.str();
}

}  // namespace prism::profile

// An op-level profiler, the idea of torch.autograd.profiler's key_averages: per op kind, its
// calls, forward and backward milliseconds, share of the time, bytes allocated and, for the ops
// that count them, nominal GFLOP.
//
//   PRISM_PROFILE=1 ./my_program      # the table goes to stderr at exit
//
//   profile::enable(true);            // or in code, around the steps to look at
//   ... steps ...
//   std::cout << profile::report(steps);
//
// Ops open a Scope named after themselves; the autograd node they make remembers the name, so
// its backward is timed under the same row. Time is self time: a scope inside another (a
// collective inside an op's backward) counts for itself only, so the rows add up to the total.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prism::profile {

// On when PRISM_PROFILE=1 (then a report prints at exit), or after enable(true).
bool enabled();
// Turning it on clears what was recorded and starts the wall clock the shares are taken of.
void enable(bool on);

enum class Phase { forward, backward };

// Times its lifetime under `op` (a string literal: the name is kept, not copied) and counts the
// bytes allocated meanwhile. Costs one branch when profiling is off. Without a phase it takes
// the enclosing scope's (a collective inside an op's backward is backward time), or forward.
class Scope {
 public:
  explicit Scope(const char* op);
  Scope(const char* op, Phase phase);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* op_;
  const char* outer_op_;
  Phase phase_, outer_phase_;
  bool timing_;
  int64_t start_ns_ = 0, start_bytes_ = 0;
  int64_t child_ns_ = 0, child_bytes_ = 0;
  double flops_ = 0;
  Scope* parent_ = nullptr;
  friend void add_flops(double flops);
};

// Charges nominal floating-point operations to the innermost Scope (conv2d counts
// 2 * N * K * C * kh * kw * Ho * Wo per pass); nothing when profiling is off.
void add_flops(double flops);

// The op of the innermost Scope on this thread, or null: what Variable::make names a node.
const char* current_op();

struct Row {
  std::string op;
  int64_t calls = 0;           // forward calls
  int64_t backward_calls = 0;  // times a backward ran under this name
  int64_t forward_ns = 0, backward_ns = 0;
  int64_t bytes = 0;  // allocated, forward and backward
  double flops = 0;   // nominal, forward and backward (add_flops)
};
// Since enable(true), the most expensive first; "(outside ops)" is the wall time no scope
// covered (the loop, the graph walk, untracked code).
std::vector<Row> rows();
// The rows as a table, with every figure divided by `steps` (per step). Its calls are forward
// calls, or backward runs for a row that only runs in backward (a collective there).
std::string report(int64_t steps = 1);

}  // namespace prism::profile

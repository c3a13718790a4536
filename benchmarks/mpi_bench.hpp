// Google Benchmark under mpiexec: every rank runs every benchmark (the collectives inside must
// line up, so benchmarks using them fix their iteration count), and only rank 0 reports.
#pragma once

#include <benchmark/benchmark.h>

#include "dist/communicator.hpp"

namespace prism::bench {

// Runs the registered benchmarks; ranks other than 0 run them silently.
inline void run_on_every_rank(const dist::Communicator& comm,
                              benchmark::BenchmarkReporter* rank0_reporter = nullptr) {
  class Silent : public benchmark::BenchmarkReporter {
   public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>&) override {}
  };
  if (comm.rank() == 0) {
    benchmark::RunSpecifiedBenchmarks(rank0_reporter);
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
}

}  // namespace prism::bench

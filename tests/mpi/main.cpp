// The MPI tests' main: every rank runs the same doctest cases (they call collectives, so the
// order matters and is the same everywhere). Rank 0 prints doctest's report; other ranks print
// only their failures. The last line, from rank 0, counts a case as failed if it failed on any
// rank, in doctest's format (scripts/test adds it up).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "dist/mpi_comm.hpp"

namespace {

struct Outcome {
  std::string name;
  bool failed = false;
};
std::vector<Outcome> outcomes;

// Records each test case's result on this rank.
struct OutcomeListener : doctest::IReporter {
  explicit OutcomeListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& d) override {
    outcomes.push_back({d.m_name, false});
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& s) override {
    outcomes.back().failed = outcomes.back().failed || !s.testCaseSuccess;
  }
  void test_case_exception(const doctest::TestCaseException&) override {
    outcomes.back().failed = true;
  }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("outcomes", 1, OutcomeListener);

}  // namespace

int main(int argc, char** argv) {
  prism::dist::Environment env(argc, argv);
  const prism::dist::Communicator comm = prism::dist::Communicator::world();
  doctest::Context context(argc, argv);
  if (comm.rank() != 0) context.setOption("minimal", true);
  context.run();
  if (context.shouldExit()) return 0;

  // Every rank ran the same cases in the same order: combine their outcomes.
  std::vector<int> failed(outcomes.size()), any(outcomes.size());
  for (size_t i = 0; i < outcomes.size(); ++i)
    failed[i] = outcomes[i].failed ? 1 : 0;
  MPI_Allreduce(failed.data(), any.data(), static_cast<int>(failed.size()), MPI_INT, MPI_MAX,
                prism::dist::mpi_comm(comm));
  int total_failed = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (failed[i])
      std::fprintf(stderr, "rank %d: FAILED: %s\n", comm.rank(), outcomes[i].name.c_str());
    total_failed += any[i];
  }
  comm.barrier();
  if (comm.rank() == 0) {
    const int n = static_cast<int>(outcomes.size());
    std::printf("[doctest] test cases: %d | %d passed | %d failed | 0 skipped (on %d ranks)\n", n,
                n - total_failed, total_failed, comm.size());
    std::fflush(stdout);
  }
  return total_failed > 0 ? 1 : 0;
}

// The op profiler (core/profiler.hpp): rows per op, backward under the forward's name, self time.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "core/profiler.hpp"
#include "gradcheck.hpp"

using namespace prism;
using prism::testing::random_tensor;

namespace {

const profile::Row* find_row(const std::vector<profile::Row>& rows, const std::string& op) {
  for (const profile::Row& row : rows)
    if (row.op == op) return &row;
  return nullptr;
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("profiler: each op gets a row with its calls, both passes and its allocations") {
  Rng rng(3);
  Variable x(random_tensor({2, 3, 8, 8}, rng), true), w(random_tensor({4, 3, 3, 3}, rng), true);
  profile::enable(true);
  for (int step = 0; step < 2; ++step)
    sum(relu(conv2d(x, w, Variable(), 1, 1))).backward();
  const std::vector<profile::Row> rows = profile::rows();
  profile::enable(false);
  for (const char* op : {"conv2d", "relu", "sum"}) {
    CAPTURE(op);
    const profile::Row* row = find_row(rows, op);
    REQUIRE(row != nullptr);
    CHECK(row->calls == 2);
    CHECK(row->forward_ns > 0);
    CHECK(row->backward_ns > 0);
  }
  // conv2d's output is 2*4*8*8 floats, its input gradient 2*3*8*8 and weight gradient 4*3*3*3,
  // twice; the kernels' scratch comes on top.
  CHECK(find_row(rows, "conv2d")->bytes >= 2 * 4 * (512 + 384 + 108));
  REQUIRE(find_row(rows, "(outside ops)") != nullptr);
  CHECK(profile::report(2).find("conv2d") != std::string::npos);
}

TEST_CASE("profiler: time is self time, and nothing is recorded while off") {
  profile::enable(true);
  {
    profile::Scope outer("outer");
    sleep_ms(10);
    profile::Scope inner("inner");
    sleep_ms(60);
  }
  std::vector<profile::Row> rows = profile::rows();
  const profile::Row *outer = find_row(rows, "outer"), *inner = find_row(rows, "inner");
  REQUIRE(outer != nullptr);
  REQUIRE(inner != nullptr);
  CHECK(inner->forward_ns >= 60'000'000);
  CHECK(outer->forward_ns >= 10'000'000);
  CHECK(outer->forward_ns < 60'000'000);  // the inner 60 ms are not counted twice
  {  // a scope without a phase inside a backward one is backward time
    profile::Scope backward("an op's backward", profile::Phase::backward);
    profile::Scope collective("a collective");
    sleep_ms(5);
  }
  rows = profile::rows();
  const profile::Row* collective = find_row(rows, "a collective");
  REQUIRE(collective != nullptr);
  CHECK(collective->forward_ns == 0);
  CHECK(collective->backward_ns >= 5'000'000);
  CHECK(collective->calls == 0);
  CHECK(collective->backward_calls == 1);
  profile::enable(false);
  { profile::Scope ignored("ignored"); }
  profile::enable(true);  // starts afresh
  rows = profile::rows();
  profile::enable(false);
  CHECK(find_row(rows, "ignored") == nullptr);
  CHECK(find_row(rows, "outer") == nullptr);
}

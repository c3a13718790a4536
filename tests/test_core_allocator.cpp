// The caching allocator behind tensors and kernel scratch (core/allocator.hpp).
#include <doctest/doctest.h>

#include <cstdint>

#include "core/allocator.hpp"
#include "core/tensor.hpp"

using namespace prism;

TEST_CASE("allocator: size classes cover the request, are aligned and waste at most 25%") {
  CHECK(memory::size_class(0) == 64);
  CHECK(memory::size_class(1) == 64);
  CHECK(memory::size_class(64) == 64);
  CHECK(memory::size_class(65) == 128);
  CHECK(memory::size_class(4096) == 4096);
  CHECK(memory::size_class(4097) == 5120);  // 4096 * 1.25
  CHECK(memory::size_class(6144) == 6144);  // 4096 * 1.5: exact classes stay
  for (size_t bytes = 1; bytes < (size_t{1} << 30); bytes = bytes * 3 + 7) {
    CAPTURE(bytes);
    const size_t c = memory::size_class(bytes);
    CHECK(c >= bytes);
    CHECK(c % memory::kAlignment == 0);
    CHECK((c <= 4096 || c - bytes <= bytes / 4));
    CHECK(memory::size_class(c) == c);  // a class is its own class
  }
}

TEST_CASE(
    "allocator: a freed block is reused for the same size class, and release empties the cache") {
  memory::release_cached();
  const int64_t before = memory::stats().in_use_bytes;
  const float* first;
  {
    Tensor a = Tensor::empty({1000, 1000});
    first = a.data();
    CHECK(reinterpret_cast<uintptr_t>(first) % memory::kAlignment == 0);
    CHECK(memory::stats().in_use_bytes - before == int64_t(memory::size_class(4000000)));
  }
  CHECK(memory::stats().in_use_bytes == before);
  if (!memory::caching()) return;  // PRISM_ALLOCATOR=system: nothing is kept
  CHECK(memory::stats().cached_bytes == int64_t(memory::size_class(4000000)));
  const int64_t system_before = memory::stats().system_allocations;
  {
    Tensor b = Tensor::empty({999, 1001});  // another shape, the same class
    CHECK(b.data() == first);
    Tensor z({4, 250000});  // zero-filled though its block comes from a free list
    CHECK(z.to_vector() == std::vector<float>(1000000, 0.0f));
  }
  CHECK(memory::stats().system_allocations - system_before == 1);  // z's block only
  memory::release_cached();
  CHECK(memory::stats().cached_bytes == 0);
}

TEST_CASE("allocator: a request takes a cached block of a larger class, up to 4 times its own") {
  memory::release_cached();
  if (!memory::caching()) return;  // PRISM_ALLOCATOR=system: nothing is kept
  const size_t big = memory::size_class(4 << 20);
  const float* block;
  {
    Tensor a = Tensor::empty({1 << 20});  // 4 MiB, then cached
    block = a.data();
  }
  const int64_t in_use = memory::stats().in_use_bytes;
  const int64_t system_before = memory::stats().system_allocations;
  {
    Tensor tiny = Tensor::empty({200000});  // 0.8 MB: under a quarter of the block
    CHECK(tiny.data() != block);
    CHECK(memory::stats().system_allocations - system_before == 1);
    Tensor c = Tensor::empty({300000});  // 1.2 MB: the 4 MiB block, counted at its class
    CHECK(c.data() == block);
    CHECK(memory::stats().cached_bytes == 0);
    CHECK(memory::stats().in_use_bytes - in_use == int64_t(big + memory::size_class(800000)));
  }
  CHECK(memory::stats().in_use_bytes == in_use);
  CHECK(memory::stats().cached_bytes == int64_t(big + memory::size_class(800000)));
  {
    Tensor again = Tensor::empty({1 << 20});  // the block went back to its own class
    CHECK(again.data() == block);
  }
  memory::release_cached();
}

TEST_CASE("allocator: the peak counts the most in use at once") {
  memory::reset_peak();
  const int64_t base = memory::stats().in_use_bytes;
  {
    Tensor a = Tensor::empty({1 << 20});
    Tensor b = Tensor::empty({1 << 20});
  }
  Tensor c = Tensor::empty({1 << 20});
  CHECK(memory::stats().peak_in_use_bytes - base == 2 * int64_t(memory::size_class(4 << 20)));
}

TEST_CASE("allocator: a memory limit gives the cache back, then refuses by name") {
  const int64_t mb = 1 << 20;
  CHECK(memory::parse_limit("700M") == 700 * mb);
  CHECK(memory::parse_limit("2G") == 2048 * mb);
  CHECK(memory::parse_limit("4096") == 4096);
  for (const char* bad : {"", "M", "-5", "7.5G", "10T", "12 M", "99999999999999G"})
    CHECK_THROWS_WITH_AS(memory::parse_limit(bad), doctest::Contains("memory limit"), Error);
  CHECK_THROWS_AS(memory::set_limit(-1), Error);

  memory::release_cached();
  const int64_t held = memory::stats().in_use_bytes;
  memory::set_limit(held + 20 * mb);
  struct Unlimit {  // the tests after this one run without a limit, even if a check throws
    ~Unlimit() { memory::set_limit(0); }
  } unlimit;
  {
    Tensor a = Tensor::empty({2 * mb});      // 8 MiB in use
    { Tensor b = Tensor::empty({3 * mb}); }  // 12 more, then cached: the limit is reached
    if (memory::caching()) CHECK(memory::stats().cached_bytes == 12 * mb);
    Tensor c = Tensor::empty({2 * mb});  // another class: fits once the cache is given back
    CHECK(memory::stats().cached_bytes == 0);
    CHECK_THROWS_WITH_AS(Tensor::empty({4 * mb}), doctest::Contains("above the memory limit"),
                         Error);  // 16 MiB more: 32 > 20
  }
  memory::set_limit(0);
  CHECK(memory::limit() == 0);
  Tensor big = Tensor::empty({8 * mb});  // no limit again
  CHECK(big.defined());
}

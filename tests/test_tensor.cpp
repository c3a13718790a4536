#include <doctest/doctest.h>

#include <cstdint>

#include "prism.hpp"

using namespace prism;

TEST_CASE("tensor: zero-filled, 64-byte aligned, shape queries") {
  Tensor t({2, 3, 5});
  CHECK(t.numel() == 30);
  CHECK(t.dim() == 3);
  CHECK(t.size(-1) == 5);
  CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  for (int64_t i = 0; i < t.numel(); ++i)
    CHECK(t[i] == 0.0f);
  CHECK_THROWS_WITH_AS(t.size(3), doctest::Contains("axis 3 out of range for shape [2, 3, 5]"),
                       Error);
}

TEST_CASE("tensor: copies share storage, clone does not") {
  Tensor a = Tensor::full({4}, 1.5f);
  Tensor b = a;
  Tensor c = a.clone();
  a[0] = 7;
  CHECK(b[0] == 7);
  CHECK(c[0] == 1.5f);
  CHECK(a.same_storage(b));
  CHECK_FALSE(a.same_storage(c));
}

TEST_CASE("tensor: reshape infers -1 and names bad shapes") {
  Tensor a = Tensor::from({2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor b = a.reshape({3, -1});
  CHECK(b.shape() == Shape{3, 4});
  CHECK(b[5] == 5);
  CHECK_THROWS_WITH_AS(a.reshape({5, -1}), doctest::Contains("cannot reshape [2, 6] to [5, -1]"),
                       Error);
  CHECK_THROWS_AS(a.reshape({-1, -1}), Error);
  CHECK_THROWS_WITH_AS(Tensor::from({2, 2}, {1, 2, 3}),
                       doctest::Contains("3 values given for shape [2, 2]"), Error);
  CHECK_THROWS_AS(Tensor({2, -3}), Error);
  // Sizes that overflow 64 bits, or exceed what memory can address, are errors, not wrap-arounds.
  CHECK_THROWS_WITH_AS(Tensor({int64_t{1} << 40, int64_t{1} << 30}),
                       doctest::Contains("has more than 2305843009213693951 elements"), Error);
  CHECK_THROWS_AS(Tensor({int64_t{1} << 62, 4, 4}), Error);
  CHECK(numel_of({int64_t{1} << 62, int64_t{1} << 62, 0}) == 0);
}

TEST_CASE("tensor: empty and scalar tensors") {
  Tensor e({0, 4});
  CHECK(e.numel() == 0);
  CHECK(e.defined());
  Tensor s = Tensor::scalar(3.0f);
  CHECK(s.dim() == 0);
  CHECK(s.item() == 3.0f);
  CHECK_THROWS_AS(Tensor({2}).item(), Error);
  CHECK_FALSE(Tensor().defined());
}

TEST_CASE("rng: a seed gives the same stream; uniform and normal look right") {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i)
    CHECK(a.next_u64() == b.next_u64());
  CHECK(Rng(1).next_u64() != Rng(2).next_u64());
  Rng r(7);
  double sum = 0, sum2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    float u = r.uniform();
    CHECK(u >= 0.0f);
    CHECK(u < 1.0f);
    float z = r.normal();
    sum += z;
    sum2 += z * z;
  }
  CHECK(std::abs(sum / n) < 0.05);
  CHECK(std::abs(sum2 / n - 1.0) < 0.05);
  for (int i = 0; i < 1000; ++i)
    CHECK(r.below(7) < 7);
  Rng::State s = r.state();
  uint64_t next = r.next_u64();
  r.set_state(s);
  CHECK(r.next_u64() == next);
}

TEST_CASE("tensor: view shares storage at an offset and checks its bounds") {
  prism::Tensor t = prism::Tensor::from({6}, {0, 1, 2, 3, 4, 5});
  prism::Tensor v = t.view(2, {2, 2});
  CHECK(v.to_vector() == std::vector<float>{2, 3, 4, 5});
  v[0] = 9;
  CHECK(t[2] == 9);
  CHECK_THROWS_WITH_AS(t.view(3, {2, 2}), doctest::Contains("outside a tensor of 6 elements"),
                       prism::Error);
  CHECK_THROWS_AS(t.view(-1, {1}), prism::Error);
}

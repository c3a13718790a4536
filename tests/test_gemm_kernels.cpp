// The SIMD GEMM against the reference, for every ISA this machine runs.
#include <doctest/doctest.h>

#include "core/parallel.hpp"
#include "gradcheck.hpp"
#include "isa_scope.hpp"
#include "ops/kernels/gemm.hpp"
#include "ops/kernels/gemm_reference.hpp"

using namespace prism;
using namespace prism::kernels;
using prism::testing::fast_isas;
using prism::testing::IsaScope;
using prism::testing::random_tensor;
using prism::testing::rel_error;

TEST_CASE("gemm kernels: every ISA and transpose matches the reference") {
  Rng rng(5);
  // Sizes on and off the tiles (12 x 32, 6 x 16) and blocks (k 256, n 512), and empty sums.
  const int64_t sizes[][3] = {{1, 1, 1},     {13, 37, 5},   {12, 32, 256}, {6, 16, 257},
                              {25, 70, 300}, {64, 513, 40}, {3, 2, 0},     {130, 17, 600}};
  for (const auto& mnk : sizes) {
    const int64_t m = mnk[0], n = mnk[1], k = mnk[2];
    for (int flags = 0; flags < 8; ++flags) {
      const bool ta = flags & 1, tb = flags & 2, acc = flags & 4;
      INFO("m=" << m << " n=" << n << " k=" << k << " trans_a=" << ta << " trans_b=" << tb
                << " accumulate=" << acc);
      Tensor a = random_tensor({m * k}, rng), b = random_tensor({k * n}, rng);
      Tensor c0 = random_tensor({m, n}, rng), ref = c0.clone();
      gemm_reference(ta, tb, m, n, k, a.data(), b.data(), ref.data(), acc);
      for (Isa isa : fast_isas()) {
        CAPTURE(isa_name(isa));
        IsaScope scope(isa);
        Tensor c = c0.clone();
        gemm(ta, tb, m, n, k, a.data(), b.data(), c.data(), acc);
        CHECK(rel_error(c, ref) < 1e-5);
      }
    }
  }
}

TEST_CASE("gemm kernels: bitwise the same for 1, 2 and 3 threads") {
  Rng rng(9);
  const int64_t m = 50, n = 70, k = 600;
  Tensor a = random_tensor({m, k}, rng), b = random_tensor({n, k}, rng);
  const int saved = num_threads();
  for (Isa isa : fast_isas()) {
    IsaScope scope(isa);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      Tensor c({m, n});
      gemm(false, true, m, n, k, a.data(), b.data(), c.data(), false);
      results.push_back(c.to_vector());
    }
    CHECK(results[1] == results[0]);
    CHECK(results[2] == results[0]);
  }
  set_num_threads(saved);
}

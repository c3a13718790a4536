#include <doctest/doctest.h>

#include <cpuid.h>

#include "core/error.hpp"
#include "core/isa.hpp"

using namespace prism;

TEST_CASE("isa: names round trip and unknown names are errors") {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    CHECK(parse_isa(isa_name(isa)) == isa);
  CHECK_THROWS_WITH_AS(parse_isa("sse9"), doctest::Contains("unknown ISA 'sse9'"), Error);
}

TEST_CASE("isa: detection agrees with CPUID and can be capped but not raised") {
  unsigned a = 0, b = 0, c = 0, d = 0;
  REQUIRE(__get_cpuid_count(7, 0, &a, &b, &c, &d));
  const Isa best = detected_isa();
  if (best >= Isa::avx2) CHECK((b & bit_AVX2) != 0);
  if (best == Isa::avx512) CHECK((b & bit_AVX512F) != 0);

  const Isa before = active_isa();
  CHECK(before <= best);
  set_active_isa(Isa::scalar);
  CHECK(active_isa() == Isa::scalar);
  if (best < Isa::avx512) {
    CHECK_THROWS_WITH_AS(set_active_isa(Isa::avx512), doctest::Contains("supports at most"), Error);
  }
  set_active_isa(before);
  CHECK(active_isa() == before);
}

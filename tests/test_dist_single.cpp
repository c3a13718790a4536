// dist without MPI: the default Communicator is this process alone. The unit tests never
// initialize MPI, so any MPI call on it would fail here.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "dist/communicator.hpp"

using namespace prism;

TEST_CASE("dist: a default Communicator is rank 0 of 1 and needs no MPI") {
  const dist::Communicator alone;
  CHECK(alone.rank() == 0);
  CHECK(alone.size() == 1);
  alone.barrier();  // nobody to wait for
  const dist::Communicator half = alone.split(0, 0);
  CHECK(half.rank() == 0);
  CHECK(half.size() == 1);
  CHECK_THROWS_WITH_AS(alone.split(-1, 0), doctest::Contains("color must be >= 0"), Error);
  CHECK_THROWS_WITH_AS(dist::Communicator::world(), doctest::Contains("MPI is not initialized"),
                       Error);
}

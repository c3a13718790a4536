// One rank throws while the others wait in a collective: the whole job must end (non-zero) at
// once rather than hang. scripts/test_mpi runs it under `timeout`.
#include <stdexcept>

#include "core/tensor.hpp"
#include "dist/collectives.hpp"

int main(int argc, char** argv) {
  prism::dist::Environment env(argc, argv);
  const prism::dist::Communicator comm = prism::dist::Communicator::world();
  const int failing = comm.size() > 1 ? 1 : 0;
  if (comm.rank() == failing) throw std::runtime_error("rank 1 failed on purpose");
  prism::Tensor t({4});
  prism::dist::allreduce(comm, t);  // never completes: the failing rank does not join
  return 0;
}

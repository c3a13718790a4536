// The MPI_Comm behind a dist::Communicator, for code that makes MPI calls of its own (the
// collectives, tests, benchmarks). Kept out of dist/communicator.hpp so that programs that
// only pass a Communicator around need no mpi.h.
#pragma once

#include <mpi.h>

#include "dist/communicator.hpp"

namespace prism::dist {

struct Communicator::Handle {
  MPI_Comm comm;
};

// MPI_COMM_SELF for a default-constructed Communicator (this process alone).
inline MPI_Comm mpi_comm(const Communicator& comm) {
  return comm.handle() ? comm.handle()->comm : MPI_COMM_SELF;
}

}  // namespace prism::dist

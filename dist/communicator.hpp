// MPI processes and communicators (MPICH), the ground the model-parallel layers stand on.
//
//   int main(int argc, char** argv) {
//     dist::Environment env(argc, argv);         // MPI_Init_thread ... MPI_Finalize
//     dist::Communicator comm = dist::Communicator::world();
//     ... comm.rank(), comm.size() ...
//   }
//
// Failure: once an Environment exists, an exception that escapes on any rank prints
// "prism: rank R: <message>" and aborts the whole job (MPI_Abort), so no other rank is left
// waiting in a collective. A program that catches an error itself and cannot go on calls
// abort_job(message). A program started without mpiexec runs as a single rank.
#pragma once

#include <memory>
#include <string>

namespace prism::dist {

class Environment {
 public:
  // Initializes MPI with at least MPI_THREAD_FUNNELED (OpenMP threads inside a rank, MPI calls
  // from the main thread only). If MPI is already initialized, it is left to its owner.
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool owns_ = false;
};

// Prints "prism: rank R: message" to stderr and ends every rank of the job.
[[noreturn]] void abort_job(const std::string& message);

// Throws prism::Error naming `call` when an MPI call did not return MPI_SUCCESS.
void check_mpi(int rc, const char* call);

// A handle to an MPI communicator; copies share it. Split communicators are freed with their
// last handle.
//
// A default-constructed Communicator is this process alone (rank 0 of 1), with or without MPI:
// what a single-process program passes where a communicator is asked for. The trainer,
// snapshots and ParallelConvolution2D communicate nothing on one rank, so they need no MPI
// then; split() and barrier() neither. Everything else in dist/ (and the data and nn
// functions built on it) runs its collectives on MPI_COMM_SELF, which needs a dist::Environment.
//
// This header does not include mpi.h, so that a single-process program needs none: the
// MPI_Comm is behind Handle, which dist/mpi_comm.hpp defines for code that calls MPI itself.
class Communicator {
 public:
  struct Handle;

  Communicator() = default;
  static Communicator world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  // nullptr for this process alone; dist::mpi_comm(comm) gives the MPI_Comm.
  const Handle* handle() const { return comm_.get(); }

  // MPI_Comm_split: ranks with the same color form a communicator, ordered by key.
  Communicator split(int color, int key) const;
  void barrier() const;

 private:
  explicit Communicator(std::shared_ptr<Handle> comm);
  std::shared_ptr<Handle> comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace prism::dist

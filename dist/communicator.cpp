#include "dist/communicator.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include "core/error.hpp"
#include "dist/mpi_comm.hpp"

namespace prism::dist {

namespace {

int world_rank() {
  int initialized = 0, finalized = 0, rank = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

// std::terminate runs this for an exception nobody caught (and for other fatal errors).
[[noreturn]] void terminate_handler() {
  std::string message = "terminated";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      message = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      message = "uncaught exception of unknown type";
    }
  }
  abort_job(message);
}

}  // namespace

void abort_job(const std::string& message) {
  std::fprintf(stderr, "prism: rank %d: %s\n", world_rank(), message.c_str());
  std::fflush(stderr);
  // Give mpiexec a moment to forward the message before the abort tears the job down
  // (without it about 1 run in 40 lost the line).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  PRISM_FAIL(call << " failed: " << std::string(text, static_cast<size_t>(length)));
}

Environment::Environment(int& argc, char**& argv) {
  int initialized = 0;
  check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
    int provided = 0;
    check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
    if (provided < MPI_THREAD_FUNNELED)
      abort_job("MPI provides thread level " + std::to_string(provided) +
                ", prism needs MPI_THREAD_FUNNELED");
  }
  // Errors come back as return codes (turned into exceptions), not as MPI's own abort.
  for (MPI_Comm c : {MPI_COMM_WORLD, MPI_COMM_SELF})
    check_mpi(MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  std::set_terminate(terminate_handler);
}

Environment::~Environment() {
  if (!owns_) return;
  // Leaving by an exception means other ranks may be waiting for this one: end them all.
  if (std::uncaught_exceptions() > 0) abort_job("left main by an exception");
  MPI_Finalize();
}

Communicator::Communicator(std::shared_ptr<Handle> comm) : comm_(std::move(comm)) {
  check_mpi(MPI_Comm_rank(comm_->comm, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_->comm, &size_), "MPI_Comm_size");
}

Communicator Communicator::world() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  PRISM_CHECK(initialized,
              "Communicator::world: MPI is not initialized (create a "
              "dist::Environment first)");
  return Communicator(std::make_shared<Handle>(Handle{MPI_COMM_WORLD}));
}

Communicator Communicator::split(int color, int key) const {
  PRISM_CHECK(color >= 0, "Communicator::split: color must be >= 0, got " << color);
  if (!comm_) return Communicator();  // this process alone splits into itself
  MPI_Comm out;
  check_mpi(MPI_Comm_split(comm_->comm, color, key, &out), "MPI_Comm_split");
  return Communicator(std::shared_ptr<Handle>(new Handle{out}, [](Handle* h) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && h->comm != MPI_COMM_NULL) MPI_Comm_free(&h->comm);
    delete h;
  }));
}

void Communicator::barrier() const {
  if (comm_) check_mpi(MPI_Barrier(comm_->comm), "MPI_Barrier");
}

}  // namespace prism::dist

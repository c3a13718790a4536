// Collectives on tensors. Every rank of the communicator must make the same calls in the same
// order (MPI's rule); shapes that must agree are checked and a mismatch is an error.
// Counts are MPI ints: a message above 2^31 - 1 elements is an error, not a silent wrap.
// Shapes travel with the data (one small MPI_Allgather of fixed records); tensors may have at
// most 8 dimensions.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "dist/communicator.hpp"

namespace prism::dist {

enum class ReduceOp { sum, mean };

// Returns root's tensor on every rank; `t` is read on root only (others may pass Tensor()).
// The shape travels first, so receivers need not know it.
Tensor bcast(const Communicator& comm, const Tensor& t, int root);

// Broadcasts root's values in their own type (labels as int32, never through float).
template <class T>
void bcast_values(const Communicator& comm, std::vector<T>& values, int root);

// Every rank's `values`, rank after rank (MPI_Allgather); every rank passes the same count.
// For int64_t and double.
template <class T>
std::vector<T> allgather_values(const Communicator& comm, const std::vector<T>& values);

// In place: every rank ends with the element-wise sum over ranks (MPI_Allreduce); every rank
// passes the same count. For double (a synchronized BN's per-channel sums).
template <class T>
void allreduce_values(const Communicator& comm, std::vector<T>& values);

// Rank r gets root's all[r * count, (r + 1) * count) in `part` (count elements, MPI_Scatter);
// `all` is read on root only and holds comm.size() * count elements there.
template <class T>
void scatter_values(const Communicator& comm, const T* all, T* part, int64_t count, int root);

// In place: every rank ends with the sum (or mean) over ranks. Shapes must agree.
void allreduce(const Communicator& comm, const Tensor& t, ReduceOp op = ReduceOp::sum);

// Every rank's tensor, in rank order. Shapes may differ between ranks. The pieces are views of
// one buffer filled by a single MPI_Allgatherv, each starting 64-byte aligned.
std::vector<Tensor> allgather(const Communicator& comm, const Tensor& t);

// A gather's result with its layout: rank r's piece is buffer[offsets[r], offsets[r] +
// numel(shapes[r])); offsets[size] is buffer.numel(). Used by the differentiable allgather.
struct Packed {
  Tensor buffer;
  std::vector<int64_t> offsets;
  std::vector<Shape> shapes;
  Tensor piece(int r) const { return buffer.view(offsets[r], shapes[r]); }
  std::vector<Tensor> pieces() const {
    std::vector<Tensor> out;
    for (size_t r = 0; r < shapes.size(); ++r)
      out.push_back(piece(static_cast<int>(r)));
    return out;
  }
};
Packed allgather_packed(const Communicator& comm, const Tensor& t);

// concat(allgather(comm, t), axis) without a copy: one MPI_Alltoallw receives every rank's
// piece straight into its place in the result through a strided datatype. `extents` holds each
// rank's size along axis, as gather_extents returns them or as a caller that knows its partition
// computes them (then no shapes travel). Known extents are trusted: nothing checks across ranks
// that every rank passed the same or that the pieces agree off axis, and a mismatch makes MPI
// fail or the result wrong. Pass gather_extents' result when unsure.
Tensor allgather_concat(const Communicator& comm, const Tensor& t, int64_t axis,
                        const std::vector<int64_t>& extents);
// Every rank's size along axis (one small MPI_Allgather of shapes); the pieces must agree off
// axis (checked on every rank, so a mismatch is an error everywhere).
std::vector<int64_t> gather_extents(const Communicator& comm, const Tensor& t, int64_t axis);

// send[j] goes to rank j; returns recv[j], what rank j sent here. Shapes may differ.
std::vector<Tensor> alltoall(const Communicator& comm, const std::vector<Tensor>& send);
Packed alltoall_packed(const Communicator& comm, const std::vector<Tensor>& send);

// `count` channels (axis 1) of a local tensor: first, first + stride, ...
struct ChannelRun {
  int64_t first = 0, count = 0, stride = 1;
};

// Moves channels between ranks: this rank sends channels send[j] of x [N, C, ...] to rank j and
// receives recv[j].count channels from rank j into channels recv[j] of the result
// [N, channels, ...] (the rest of x's shape). What rank j sends here must be what this rank
// expects from j (count and shape off axis 1): the runs are trusted, as allgather_concat's
// extents are. Checked here: every run lies inside its tensor, this rank's own run has the same
// count both ways, and every channel of the result is received exactly once.
// The blocking form of ChannelExchange.
Tensor exchange_channels(const Communicator& comm, const Tensor& x,
                         const std::vector<ChannelRun>& send, const std::vector<ChannelRun>& recv,
                         int64_t channels);

// n consecutive images of an [N, channels, plane...] buffer: a tensor, or a range of its images.
struct ImageBlock {
  float* data = nullptr;
  int64_t n = 0, channels = 0, plane = 0;
};

// exchange_channels in flight, on blocks of images, so that a caller can compute while it
// moves (ParallelConvolution2D sends chunk i while convolving chunk i + 1). The constructor
// checks the runs, copies this rank's own channels, packs the others' into a staging buffer
// (so `from` may change as soon as it returns) and posts one MPI_Ialltoallv of contiguous
// blocks; completion unpacks them into `to`, which must stay alive, and unread, until test()
// has returned true or wait() has returned. (Here, MPICH 4.0.2 moved strided MPI datatypes
// 1.3-3x slower than packing plus contiguous messages at every VGG16 layer size:
// docs/parallelism.md. The price is staging buffers of up to (P - 1) / P of the block, each way.)
// Like any collective, exchanges are started in the same order on every rank. The destructor
// waits, so MPI never writes into freed memory, but does not unpack. traffic() counts the time
// spent in the constructor, test() and wait(): what the caller did not overlap.
class ChannelExchange {
 public:
  ChannelExchange(const Communicator& comm, ImageBlock from, const std::vector<ChannelRun>& send,
                  ImageBlock to, const std::vector<ChannelRun>& recv);
  ~ChannelExchange();
  ChannelExchange(const ChannelExchange&) = delete;
  ChannelExchange& operator=(const ChannelExchange&) = delete;

  bool test();
  void wait();

 private:
  void finish();  // unpacks what arrived

  int rank_;
  ImageBlock to_;
  std::vector<ChannelRun> recv_;
  std::vector<int64_t> recv_offsets_;  // of each rank's block in recv_stage_
  bool done_ = false;
  MPI_Request request_ = MPI_REQUEST_NULL;
  // MPI reads these until the exchange completes.
  std::vector<int> scounts_, sdispls_, rcounts_, rdispls_;
  Tensor send_stage_, recv_stage_;
};

// An allreduce in flight (MPI_Iallreduce, in place, sum): the caller computes while it moves
// (optim::DataParallel reduces a bucket of gradients while backward makes the next). `t` must
// stay alive, and be neither read nor written, until test() has returned true or wait() has
// returned. No shapes travel: every rank passes a tensor of the same size (DataParallel's
// buckets agree by construction). MPICH moves the data only inside MPI calls, so a caller that
// wants it to move while it computes calls test() now and then. Started in the same order on
// every rank, like any collective. The destructor waits, so MPI never writes into freed memory.
// traffic() counts the time spent in the constructor, test() and wait(): what was not hidden.
class AllreduceInFlight {
 public:
  AllreduceInFlight(const Communicator& comm, Tensor t);
  ~AllreduceInFlight();
  AllreduceInFlight(const AllreduceInFlight&) = delete;
  AllreduceInFlight& operator=(const AllreduceInFlight&) = delete;

  bool test();
  void wait();

 private:
  Tensor t_;
  bool done_ = false;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

// Sums `t` over ranks and returns rank r's part: elements [sum of counts before r, + counts[r])
// as a flat tensor. counts must be the same on every rank and add up to t.numel().
Tensor reduce_scatter(const Communicator& comm, const Tensor& t,
                      const std::vector<int64_t>& counts);

// Bytes from one rank to another (point to point: every send_bytes meets one recv_bytes, in
// order), of any length: they travel in messages of at most max_message_bytes(), so MPI's int
// counts cap nothing. A load_snapshot sends each rank its own part this way.
void send_bytes(const Communicator& comm, std::string_view bytes, int dest);
std::string recv_bytes(const Communicator& comm, int source);
// 1 GiB unless set (a test lowers it to see a long payload cross in many messages). The
// sender's setting rules: it sends its piece size with the length.
size_t max_message_bytes();
void set_max_message_bytes(size_t bytes);

// What this process's tensor collectives above have done since it started: the bytes of
// tensor data it sent to and received from other ranks (an allreduce or a reduce-scatter
// counted as a ring moves it: (P - 1) / P of the tensor each way per phase), and the wall
// seconds spent inside them (a ChannelExchange: its constructor, test() and wait()), waiting
// for other ranks included: the exposed communication. Thread-safe; never reset (take
// differences).
struct Traffic {
  int64_t bytes_sent = 0, bytes_received = 0;
  double seconds = 0;
  double imbalance_seconds = 0;  // at the barriers of set_split_waits(true), not in seconds
};
Traffic traffic();

// A measurement switch (vgg_step --split-waits): while on, every ChannelExchange first waits
// at an MPI_Barrier, timed apart as traffic().imbalance_seconds. What a rank then spends in
// the exchange is its communication proper (copies and transfer), the barrier the time it
// waited for a slower rank. The barrier adds a synchronisation, so a step is measured either
// split or not, never both. Off by default; set it on every rank alike.
void set_split_waits(bool on);

// Collective: if any rank passes an error (a non-empty message), every rank throws the first
// failing rank's message; otherwise it returns. Code that may fail on some ranks only calls it
// before the next collective, so no rank waits for one that has thrown.
void raise_on_every_rank(const Communicator& comm, const std::string& error);

// The MPI int count for n elements; an error above INT_MAX.
int mpi_count(int64_t n, const char* what);

}  // namespace prism::dist

#include "dist/collectives.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <numeric>

#include "core/error.hpp"
#include "core/profiler.hpp"
#include "dist/mpi_comm.hpp"

namespace prism::dist {

namespace {

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<int32_t>() {
  return MPI_INT32_T;
}
template <>
MPI_Datatype mpi_type<int64_t>() {
  return MPI_INT64_T;
}
template <>
MPI_Datatype mpi_type<uint8_t>() {
  return MPI_UINT8_T;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

void check_root(const Communicator& comm, int root, const char* op) {
  PRISM_CHECK(root >= 0 && root < comm.size(), op << ": root " << root
                                                  << " is not a rank of a communicator of size "
                                                  << comm.size());
}

// Every rank's shape, in rank order, in one MPI_Allgather of fixed-size records (ndim, then up
// to kMaxDims dimensions): a gather's only extra latency. A rank with more dimensions sends its
// count anyway, so every rank sees it and throws, and none is left waiting.
constexpr int kMaxDims = 8;
std::vector<Shape> allgather_shapes(const Communicator& comm, const Shape& shape) {
  const int p = comm.size();
  std::vector<int64_t> mine(kMaxDims + 1, 0), all(static_cast<size_t>(p) * (kMaxDims + 1));
  mine[0] = static_cast<int64_t>(shape.size());
  std::copy_n(shape.begin(), std::min<size_t>(shape.size(), kMaxDims), mine.begin() + 1);
  check_mpi(MPI_Allgather(mine.data(), kMaxDims + 1, MPI_INT64_T, all.data(), kMaxDims + 1,
                          MPI_INT64_T, mpi_comm(comm)),
            "MPI_Allgather");
  std::vector<Shape> shapes(p);
  for (int r = 0; r < p; ++r) {
    const int64_t* record = all.data() + static_cast<size_t>(r) * (kMaxDims + 1);
    PRISM_CHECK(record[0] <= kMaxDims, "collectives: rank " << r << "'s tensor has " << record[0]
                                                            << " dimensions; at most " << kMaxDims
                                                            << " travel");
    shapes[r].assign(record + 1, record + 1 + record[0]);
  }
  return shapes;
}

// Committed MPI datatypes, freed when it goes (also when an MPI call throws).
struct Datatypes {
  std::vector<MPI_Datatype> types;
  ~Datatypes() {
    for (MPI_Datatype& t : types)
      if (t != MPI_FLOAT) MPI_Type_free(&t);
  }
};

// traffic()'s totals. A Meter lives for one collective: it adds the collective's wall time,
// and moved() its payload, in floats to and from other ranks.
std::atomic<int64_t> g_sent_bytes{0}, g_received_bytes{0}, g_nanoseconds{0},
    g_imbalance_nanoseconds{0};
std::atomic<bool> g_split_waits{false};
class Meter {
 public:
  Meter() : start_(std::chrono::steady_clock::now()) {}
  ~Meter() {
    g_nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - start_)
                         .count();
  }
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;
  void exclude(std::chrono::steady_clock::duration d) { start_ += d; }
  void moved(int64_t sent_floats, int64_t received_floats) {
    moved_bytes(sent_floats * static_cast<int64_t>(sizeof(float)),
                received_floats * static_cast<int64_t>(sizeof(float)));
  }
  void moved_bytes(int64_t sent, int64_t received) {
    g_sent_bytes += sent;
    g_received_bytes += received;
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

int64_t round_up_16(int64_t n) {
  return (n + 15) / 16 * 16;
}

// What a ring allreduce of n elements sends (and receives) per rank: a reduce-scatter and an
// allgather, (P - 1) / P of the tensor each. traffic() counts allreduces so.
int64_t ring_allreduce_elements(int64_t n, int p) {
  return 2 * n * (p - 1) / p;
}

// A non-blocking collective's MPI_Test and MPI_Wait, timed into traffic() (the time the caller
// did not overlap) under the profiler's name `op`.
bool test_request(MPI_Request& request, const char* op) {
  profile::Scope scope(op);
  Meter meter;
  int flag = 0;
  check_mpi(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}
void wait_request(MPI_Request& request, const char* op) {
  profile::Scope scope(op);
  Meter meter;
  check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
}

}  // namespace

Traffic traffic() {
  return {g_sent_bytes.load(), g_received_bytes.load(), double(g_nanoseconds.load()) * 1e-9,
          double(g_imbalance_nanoseconds.load()) * 1e-9};
}

void set_split_waits(bool on) {
  g_split_waits = on;
}

int mpi_count(int64_t n, const char* what) {
  PRISM_CHECK(n >= 0 && n <= INT_MAX, what << ": " << n << " elements exceed MPI's int count");
  return static_cast<int>(n);
}

Tensor bcast(const Communicator& comm, const Tensor& t, int root) {
  profile::Scope scope("mpi.bcast");
  Meter meter;
  check_root(comm, root, "bcast");
  const bool is_root = comm.rank() == root;
  PRISM_CHECK(!is_root || t.defined(), "bcast: the root's tensor is undefined");
  std::vector<int64_t> shape = is_root ? t.shape() : Shape{};
  bcast_values(comm, shape, root);
  Tensor out = is_root ? t : Tensor(shape);
  check_mpi(MPI_Bcast(out.data(), mpi_count(out.numel(), "bcast"), MPI_FLOAT, root, mpi_comm(comm)),
            "MPI_Bcast");
  meter.moved(is_root ? out.numel() * (comm.size() - 1) : 0, is_root ? 0 : out.numel());
  return out;
}

template <class T>
void bcast_values(const Communicator& comm, std::vector<T>& values, int root) {
  check_root(comm, root, "bcast_values");
  int64_t n = static_cast<int64_t>(values.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_INT64_T, root, mpi_comm(comm)), "MPI_Bcast");
  values.resize(static_cast<size_t>(n));
  check_mpi(
      MPI_Bcast(values.data(), mpi_count(n, "bcast_values"), mpi_type<T>(), root, mpi_comm(comm)),
      "MPI_Bcast");
}
template void bcast_values(const Communicator&, std::vector<float>&, int);
template void bcast_values(const Communicator&, std::vector<int32_t>&, int);
template void bcast_values(const Communicator&, std::vector<int64_t>&, int);
template void bcast_values(const Communicator&, std::vector<uint8_t>&, int);

template <class T>
std::vector<T> allgather_values(const Communicator& comm, const std::vector<T>& values) {
  const int n = mpi_count(static_cast<int64_t>(values.size()), "allgather_values");
  std::vector<T> all(values.size() * static_cast<size_t>(comm.size()));
  check_mpi(
      MPI_Allgather(values.data(), n, mpi_type<T>(), all.data(), n, mpi_type<T>(), mpi_comm(comm)),
      "MPI_Allgather");
  return all;
}
template std::vector<int64_t> allgather_values(const Communicator&, const std::vector<int64_t>&);
template std::vector<double> allgather_values(const Communicator&, const std::vector<double>&);

template <class T>
void allreduce_values(const Communicator& comm, std::vector<T>& values) {
  profile::Scope scope("mpi.allreduce");
  Meter meter;
  const int count = mpi_count(static_cast<int64_t>(values.size()), "allreduce_values");
  if (comm.size() == 1) return;
  check_mpi(
      MPI_Allreduce(MPI_IN_PLACE, values.data(), count, mpi_type<T>(), MPI_SUM, mpi_comm(comm)),
      "MPI_Allreduce");
  const int64_t ring = ring_allreduce_elements(count, comm.size());
  meter.moved_bytes(ring * int64_t{sizeof(T)}, ring * int64_t{sizeof(T)});
}
template void allreduce_values(const Communicator&, std::vector<double>&);

template <class T>
void scatter_values(const Communicator& comm, const T* all, T* part, int64_t count, int root) {
  check_root(comm, root, "scatter_values");
  const int n = mpi_count(count, "scatter_values");
  check_mpi(MPI_Scatter(comm.rank() == root ? all : nullptr, n, mpi_type<T>(), part, n,
                        mpi_type<T>(), root, mpi_comm(comm)),
            "MPI_Scatter");
}
template void scatter_values(const Communicator&, const float*, float*, int64_t, int);
template void scatter_values(const Communicator&, const int32_t*, int32_t*, int64_t, int);

void allreduce(const Communicator& comm, const Tensor& t, ReduceOp op) {
  profile::Scope scope("mpi.allreduce");
  Meter meter;
  PRISM_CHECK(t.defined(), "allreduce: tensor is undefined");
  for (const Shape& s : allgather_shapes(comm, t.shape()))
    PRISM_CHECK(s == t.shape(), "allreduce: shapes differ across ranks: " << to_string(s) << " and "
                                                                          << to_string(t.shape()));
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, t.data(), mpi_count(t.numel(), "allreduce"), MPI_FLOAT,
                          MPI_SUM, mpi_comm(comm)),
            "MPI_Allreduce");
  const int64_t ring = ring_allreduce_elements(t.numel(), comm.size());
  meter.moved(ring, ring);
  if (op == ReduceOp::mean) {
    const float inv = 1.0f / static_cast<float>(comm.size());
    for (int64_t i = 0; i < t.numel(); ++i)
      t[i] *= inv;
  }
}

AllreduceInFlight::AllreduceInFlight(const Communicator& comm, Tensor t) : t_(std::move(t)) {
  profile::Scope scope("mpi.allreduce");
  Meter meter;
  PRISM_CHECK(t_.defined(), "AllreduceInFlight: tensor is undefined");
  const int count = mpi_count(t_.numel(), "AllreduceInFlight");
  if (comm.size() == 1) {
    done_ = true;
    return;
  }
  check_mpi(
      MPI_Iallreduce(MPI_IN_PLACE, t_.data(), count, MPI_FLOAT, MPI_SUM, mpi_comm(comm), &request_),
      "MPI_Iallreduce");
  const int64_t ring = ring_allreduce_elements(t_.numel(), comm.size());
  meter.moved(ring, ring);
}

AllreduceInFlight::~AllreduceInFlight() {
  if (!done_) MPI_Wait(&request_, MPI_STATUS_IGNORE);  // see ~ChannelExchange
}

bool AllreduceInFlight::test() {
  if (!done_) done_ = test_request(request_, "mpi.allreduce");
  return done_;
}

void AllreduceInFlight::wait() {
  if (done_) return;
  wait_request(request_, "mpi.allreduce");
  done_ = true;
}

Packed allgather_packed(const Communicator& comm, const Tensor& t) {
  profile::Scope scope("mpi.allgather");
  Meter meter;
  PRISM_CHECK(t.defined(), "allgather: tensor is undefined");
  Packed out;
  out.shapes = allgather_shapes(comm, t.shape());
  const int p = comm.size();
  // Each piece starts on a 64-byte boundary of the one receive buffer.
  std::vector<int> counts(p), displs(p);
  out.offsets.push_back(0);
  for (int r = 0; r < p; ++r) {
    counts[r] = mpi_count(numel_of(out.shapes[r]), "allgather");
    displs[r] = mpi_count(out.offsets[r], "allgather");
    out.offsets.push_back(round_up_16(out.offsets[r] + counts[r]));
  }
  out.buffer = Tensor({out.offsets[p]});
  check_mpi(MPI_Allgatherv(t.data(), counts[comm.rank()], MPI_FLOAT, out.buffer.data(),
                           counts.data(), displs.data(), MPI_FLOAT, mpi_comm(comm)),
            "MPI_Allgatherv");
  meter.moved(int64_t{counts[comm.rank()]} * (p - 1),
              std::accumulate(counts.begin(), counts.end(), int64_t{0}) - counts[comm.rank()]);
  return out;
}

std::vector<Tensor> allgather(const Communicator& comm, const Tensor& t) {
  return allgather_packed(comm, t).pieces();
}

std::vector<int64_t> gather_extents(const Communicator& comm, const Tensor& t, int64_t axis) {
  // Checked after the exchange, against rank 0's shape, so every rank reaches the same verdict.
  const std::vector<Shape> shapes = allgather_shapes(comm, t.defined() ? t.shape() : Shape{});
  std::vector<int64_t> extents;
  for (int r = 0; r < comm.size(); ++r) {
    Shape off_axis = shapes[r], first = shapes[0];
    const bool has_axis = axis >= 0 && axis < static_cast<int64_t>(off_axis.size());
    if (has_axis && off_axis.size() == first.size()) off_axis[axis] = first[axis] = 0;
    PRISM_CHECK(has_axis && off_axis == first, "allgather_concat: rank "
                                                   << r << "'s piece " << to_string(shapes[r])
                                                   << " does not match rank 0's "
                                                   << to_string(shapes[0]) << " off axis " << axis
                                                   << " (or has no such axis; undefined is [])");
    extents.push_back(shapes[r][axis]);
  }
  return extents;
}

Tensor allgather_concat(const Communicator& comm, const Tensor& t, int64_t axis,
                        const std::vector<int64_t>& extents) {
  profile::Scope scope("mpi.allgather_concat");
  Meter meter;
  const int p = comm.size();
  PRISM_CHECK(t.defined() && axis >= 0 && axis < t.dim(),
              "allgather_concat: axis " << axis << " is out of range for " << shape_string(t));
  PRISM_CHECK(static_cast<int>(extents.size()) == p && extents[comm.rank()] == t.size(axis),
              "allgather_concat: extents must hold every rank's size along axis "
                  << axis << ", this rank's " << t.size(axis) << " at position " << comm.rank());
  Shape out_shape = t.shape();
  out_shape[axis] = std::accumulate(extents.begin(), extents.end(), int64_t{0});
  // The result is `outer` rows; each holds every rank's block of extent * `inner` floats.
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= t.size(d);
  for (int64_t d = axis + 1; d < t.dim(); ++d)
    inner *= t.size(d);
  const int64_t row = out_shape[axis] * inner;
  Tensor out(out_shape);
  // Every rank sends its whole tensor to everyone; rank r's piece lands in column block r.
  std::vector<int> scounts(p, mpi_count(t.numel(), "allgather_concat")), sdispls(p, 0),
      rcounts(p, 1), rdispls(p);
  Datatypes stypes{std::vector<MPI_Datatype>(p, MPI_FLOAT)}, rtypes{{}};
  int64_t offset = 0;
  for (int r = 0; r < p; ++r) {
    const int64_t block = extents[r] * inner;
    MPI_Datatype type;
    check_mpi(
        MPI_Type_vector(mpi_count(outer, "allgather_concat"), mpi_count(block, "allgather_concat"),
                        mpi_count(row, "allgather_concat"), MPI_FLOAT, &type),
        "MPI_Type_vector");
    rtypes.types.push_back(type);
    check_mpi(MPI_Type_commit(&rtypes.types.back()), "MPI_Type_commit");
    rdispls[r] = mpi_count(offset * static_cast<int64_t>(sizeof(float)), "allgather_concat bytes");
    offset += block;
  }
  check_mpi(MPI_Alltoallw(t.data(), scounts.data(), sdispls.data(), stypes.types.data(), out.data(),
                          rcounts.data(), rdispls.data(), rtypes.types.data(), mpi_comm(comm)),
            "MPI_Alltoallw");
  meter.moved(t.numel() * (p - 1), out.numel() - t.numel());
  return out;
}

Packed alltoall_packed(const Communicator& comm, const std::vector<Tensor>& send) {
  profile::Scope scope("mpi.alltoall");
  Meter meter;
  const int p = comm.size();
  PRISM_CHECK(static_cast<int>(send.size()) == p,
              "alltoall: needs one tensor per rank (" << p << "), got " << send.size());
  // Ranks first tell each other the shapes they will send.
  std::vector<int64_t> my_dims, all_dims;
  std::vector<int> ndim_send(p), ndim_recv(p);
  for (int j = 0; j < p; ++j) {
    PRISM_CHECK(send[j].defined(), "alltoall: tensor for rank " << j << " is undefined");
    ndim_send[j] = static_cast<int>(send[j].dim());
    my_dims.insert(my_dims.end(), send[j].shape().begin(), send[j].shape().end());
  }
  check_mpi(
      MPI_Alltoall(ndim_send.data(), 1, MPI_INT, ndim_recv.data(), 1, MPI_INT, mpi_comm(comm)),
      "MPI_Alltoall");
  std::vector<int> sd(p), rd(p);
  for (int j = 1; j < p; ++j) {
    sd[j] = sd[j - 1] + ndim_send[j - 1];
    rd[j] = rd[j - 1] + ndim_recv[j - 1];
  }
  all_dims.resize(static_cast<size_t>(rd[p - 1] + ndim_recv[p - 1]));
  check_mpi(MPI_Alltoallv(my_dims.data(), ndim_send.data(), sd.data(), MPI_INT64_T, all_dims.data(),
                          ndim_recv.data(), rd.data(), MPI_INT64_T, mpi_comm(comm)),
            "MPI_Alltoallv");

  // One send buffer and one receive buffer, each piece 64-byte aligned in them.
  Packed out;
  out.offsets.push_back(0);
  std::vector<int> scount(p), sdispl(p), rcount(p), rdispl(p);
  int64_t stotal = 0;
  for (int j = 0; j < p; ++j) {
    scount[j] = mpi_count(send[j].numel(), "alltoall");
    sdispl[j] = mpi_count(stotal, "alltoall");
    stotal = round_up_16(stotal + scount[j]);
    out.shapes.emplace_back(all_dims.begin() + rd[j], all_dims.begin() + rd[j] + ndim_recv[j]);
    rcount[j] = mpi_count(numel_of(out.shapes[j]), "alltoall");
    rdispl[j] = mpi_count(out.offsets[j], "alltoall");
    out.offsets.push_back(round_up_16(out.offsets[j] + rcount[j]));
  }
  Tensor sbuf({stotal});
  out.buffer = Tensor({out.offsets[p]});
  for (int j = 0; j < p; ++j)
    std::copy_n(send[j].data(), scount[j], sbuf.data() + sdispl[j]);
  check_mpi(MPI_Alltoallv(sbuf.data(), scount.data(), sdispl.data(), MPI_FLOAT, out.buffer.data(),
                          rcount.data(), rdispl.data(), MPI_FLOAT, mpi_comm(comm)),
            "MPI_Alltoallv");
  const int me = comm.rank();
  meter.moved(std::accumulate(scount.begin(), scount.end(), int64_t{0}) - scount[me],
              std::accumulate(rcount.begin(), rcount.end(), int64_t{0}) - rcount[me]);
  return out;
}

std::vector<Tensor> alltoall(const Communicator& comm, const std::vector<Tensor>& send) {
  return alltoall_packed(comm, send).pieces();
}

Tensor exchange_channels(const Communicator& comm, const Tensor& x,
                         const std::vector<ChannelRun>& send, const std::vector<ChannelRun>& recv,
                         int64_t channels) {
  PRISM_CHECK(x.defined() && x.dim() >= 2,
              "exchange_channels: needs x [N, C, ...], got " << shape_string(x));
  Shape out_shape = x.shape();
  out_shape[1] = channels;
  const int64_t n = x.size(0), plane = x.numel() / std::max<int64_t>(1, n * x.size(1));
  Tensor out = Tensor::empty(out_shape);  // every channel is received
  ChannelExchange(comm, {x.data(), n, x.size(1), plane}, send, {out.data(), n, channels, plane},
                  recv)
      .wait();
  return out;
}

namespace {

// Copies channels `from` of each image of src to channels `to` of dst (the same count).
void copy_run(const ImageBlock& src, const ChannelRun& from, const ImageBlock& dst,
              const ChannelRun& to) {
  if (from.count == 0) return;  // an empty run's first channel may lie anywhere
  const size_t bytes = static_cast<size_t>(src.plane) * sizeof(float);
  for (int64_t b = 0; b < src.n; ++b) {
    const float* s = src.data + (b * src.channels + from.first) * src.plane;
    float* d = dst.data + (b * dst.channels + to.first) * dst.plane;
    for (int64_t k = 0; k < from.count; ++k)
      std::memcpy(d + k * to.stride * dst.plane, s + k * from.stride * src.plane, bytes);
  }
}

// Where each rank's run lies in a staging buffer of [n, run count, plane] blocks in rank order
// (none for this rank, whose channels are copied directly); the total at the end.
std::vector<int64_t> stage_offsets(const std::vector<ChannelRun>& runs, int self, int64_t n,
                                   int64_t plane) {
  std::vector<int64_t> at(runs.size() + 1, 0);
  for (size_t j = 0; j < runs.size(); ++j)
    at[j + 1] = at[j] + (static_cast<int>(j) == self ? 0 : n * runs[j].count * plane);
  return at;
}

}  // namespace

ChannelExchange::ChannelExchange(const Communicator& comm, ImageBlock from,
                                 const std::vector<ChannelRun>& send, ImageBlock to,
                                 const std::vector<ChannelRun>& recv)
    : rank_(comm.rank()), to_(to), recv_(recv) {
  profile::Scope scope("mpi.exchange_channels");
  Meter meter;
  const int p = comm.size(), me = rank_;
  PRISM_CHECK(static_cast<int>(send.size()) == p && static_cast<int>(recv.size()) == p,
              "exchange_channels: needs one send and one receive run per rank ("
                  << p << "), got " << send.size() << " and " << recv.size());
  PRISM_CHECK(from.n == to.n && from.plane == to.plane,
              "exchange_channels: " << from.n << " images of " << from.plane << " floats per "
                                    << "channel go out, but " << to.n << " of " << to.plane
                                    << " are received");
  auto check_run = [](const ChannelRun& r, int64_t c, const char* side, int j) {
    PRISM_CHECK(r.count >= 0 && r.stride >= 1 &&
                    (r.count == 0 || (r.first >= 0 && r.first + (r.count - 1) * r.stride < c)),
                "exchange_channels: the " << side << " run for rank " << j << " (first " << r.first
                                          << ", count " << r.count << ", stride " << r.stride
                                          << ") leaves channels [0, " << c << ")");
  };
  std::vector<int> received(static_cast<size_t>(std::max<int64_t>(to.channels, 0)), 0);
  for (int j = 0; j < p; ++j) {
    check_run(send[j], from.channels, "send", j);
    check_run(recv[j], to.channels, "receive", j);
    for (int64_t k = 0; k < recv[j].count; ++k)
      ++received[recv[j].first + k * recv[j].stride];
  }
  for (int64_t c = 0; c < to.channels; ++c)
    PRISM_CHECK(received[c] == 1, "exchange_channels: channel "
                                      << c << " of the result is received " << received[c]
                                      << " times");
  PRISM_CHECK(send[me].count == recv[me].count, "exchange_channels: rank "
                                                    << me << " sends itself " << send[me].count
                                                    << " channels but expects " << recv[me].count);
  if (g_split_waits && p > 1) {  // after the checks, so that a refused exchange never waits
    const auto start = std::chrono::steady_clock::now();
    check_mpi(MPI_Barrier(mpi_comm(comm)), "MPI_Barrier");
    const auto waited = std::chrono::steady_clock::now() - start;
    g_imbalance_nanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count();
    meter.exclude(waited);
  }
  copy_run(from, send[me], to, recv[me]);
  const int64_t n = from.n, plane = from.plane;
  const std::vector<int64_t> out = stage_offsets(send, me, n, plane);
  recv_offsets_ = stage_offsets(recv, me, n, plane);
  if (p == 1) {  // otherwise every rank posts, even with nothing to move: it is a collective
    done_ = true;
    return;
  }
  send_stage_ = Tensor::empty({out.back()});
  recv_stage_ = Tensor::empty({recv_offsets_.back()});
  const char* what = "exchange_channels";
  scounts_.assign(p, 0), sdispls_.assign(p, 0), rcounts_.assign(p, 0), rdispls_.assign(p, 0);
  for (int j = 0; j < p; ++j) {
    if (j == me) continue;
    copy_run(from, send[j], {send_stage_.data() + out[j], n, send[j].count, plane},
             {0, send[j].count, 1});
    scounts_[j] = mpi_count(out[j + 1] - out[j], what);
    sdispls_[j] = mpi_count(out[j], what);
    rcounts_[j] = mpi_count(recv_offsets_[j + 1] - recv_offsets_[j], what);
    rdispls_[j] = mpi_count(recv_offsets_[j], what);
  }
  check_mpi(MPI_Ialltoallv(send_stage_.data(), scounts_.data(), sdispls_.data(), MPI_FLOAT,
                           recv_stage_.data(), rcounts_.data(), rdispls_.data(), MPI_FLOAT,
                           mpi_comm(comm), &request_),
            "MPI_Ialltoallv");
  meter.moved(out.back(), recv_offsets_.back());
}

ChannelExchange::~ChannelExchange() {
  // Unwinding from an error (or never waited on): MPI must be done with the buffers before
  // they go. A failed wait cannot be reported from here; the job ends on the error in flight.
  if (!done_) MPI_Wait(&request_, MPI_STATUS_IGNORE);
}

bool ChannelExchange::test() {
  if (!done_ && test_request(request_, "mpi.exchange_channels")) finish();
  return done_;
}

void ChannelExchange::wait() {
  if (done_) return;
  wait_request(request_, "mpi.exchange_channels");
  finish();
}

void ChannelExchange::finish() {
  done_ = true;
  for (size_t j = 0; j < recv_.size(); ++j)
    if (static_cast<int>(j) != rank_)
      copy_run({recv_stage_.data() + recv_offsets_[j], to_.n, recv_[j].count, to_.plane},
               {0, recv_[j].count, 1}, to_, recv_[j]);
  send_stage_ = Tensor();
  recv_stage_ = Tensor();
}

namespace {
std::atomic<size_t> g_max_message_bytes{size_t{1} << 30};
constexpr int kBytesTag = 7301;  // send_bytes' messages; prism sends no other point to point
}  // namespace

size_t max_message_bytes() {
  return g_max_message_bytes;
}

void set_max_message_bytes(size_t bytes) {
  PRISM_CHECK(bytes >= 1 && bytes <= INT_MAX,
              "set_max_message_bytes: needs 1 to " << INT_MAX << " bytes, got " << bytes);
  g_max_message_bytes = bytes;
}

void send_bytes(const Communicator& comm, std::string_view bytes, int dest) {
  check_root(comm, dest, "send_bytes: destination");
  Meter meter;
  // The length and the piece size first, so that the receiver cuts the same pieces.
  const size_t piece = max_message_bytes();
  const int64_t header[2] = {static_cast<int64_t>(bytes.size()), static_cast<int64_t>(piece)};
  check_mpi(MPI_Send(header, 2, MPI_INT64_T, dest, kBytesTag, mpi_comm(comm)), "MPI_Send");
  for (size_t at = 0; at < bytes.size(); at += piece)
    check_mpi(MPI_Send(bytes.data() + at, static_cast<int>(std::min(piece, bytes.size() - at)),
                       MPI_BYTE, dest, kBytesTag, mpi_comm(comm)),
              "MPI_Send");
  meter.moved_bytes(header[0], 0);
}

std::string recv_bytes(const Communicator& comm, int source) {
  check_root(comm, source, "recv_bytes: source");
  Meter meter;
  int64_t header[2] = {0, 0};  // the length, the piece size
  check_mpi(MPI_Recv(header, 2, MPI_INT64_T, source, kBytesTag, mpi_comm(comm), MPI_STATUS_IGNORE),
            "MPI_Recv");
  const int64_t length = header[0];
  PRISM_CHECK(length >= 0 && header[1] >= 1 && header[1] <= INT_MAX,
              "recv_bytes: rank " << source << " announced " << length << " bytes in pieces of "
                                  << header[1]);
  std::string bytes(static_cast<size_t>(length), '\0');
  const size_t piece = static_cast<size_t>(header[1]);
  for (size_t at = 0; at < bytes.size(); at += piece)
    check_mpi(MPI_Recv(bytes.data() + at, static_cast<int>(std::min(piece, bytes.size() - at)),
                       MPI_BYTE, source, kBytesTag, mpi_comm(comm), MPI_STATUS_IGNORE),
              "MPI_Recv");
  meter.moved_bytes(0, length);
  return bytes;
}

Tensor reduce_scatter(const Communicator& comm, const Tensor& t,
                      const std::vector<int64_t>& counts) {
  profile::Scope scope("mpi.reduce_scatter");
  Meter meter;
  const int p = comm.size();
  PRISM_CHECK(t.defined(), "reduce_scatter: tensor is undefined");
  PRISM_CHECK(static_cast<int>(counts.size()) == p,
              "reduce_scatter: needs one count per rank (" << p << "), got " << counts.size());
  const int64_t sum = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  PRISM_CHECK(sum == t.numel(), "reduce_scatter: counts add up to "
                                    << sum << " but the tensor " << to_string(t.shape()) << " has "
                                    << t.numel() << " elements");
  std::vector<int> c(p);
  for (int r = 0; r < p; ++r)
    c[r] = mpi_count(counts[r], "reduce_scatter");
  Tensor out({counts[comm.rank()]});
  check_mpi(MPI_Reduce_scatter(t.data(), out.data(), c.data(), MPI_FLOAT, MPI_SUM, mpi_comm(comm)),
            "MPI_Reduce_scatter");
  const int64_t ring = t.numel() * (p - 1) / p;
  meter.moved(ring, ring);
  return out;
}

void raise_on_every_rank(const Communicator& comm, const std::string& error) {
  if (comm.size() == 1) {
    PRISM_CHECK(error.empty(), error);
    return;
  }
  const std::vector<Tensor> flags = allgather(comm, Tensor::full({1}, error.empty() ? 0.0f : 1.0f));
  for (int r = 0; r < comm.size(); ++r) {
    if (flags[static_cast<size_t>(r)][0] == 0.0f) continue;
    std::vector<uint8_t> message(error.begin(), error.end());
    bcast_values(comm, message, r);
    PRISM_FAIL(std::string(message.begin(), message.end()));
  }
}

}  // namespace prism::dist

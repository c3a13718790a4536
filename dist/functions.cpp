#include "dist/functions.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/profiler.hpp"
#include "dist/collectives.hpp"
#include "dist/mpi_comm.hpp"
#include "ops/shape.hpp"

namespace prism::dist {

namespace {

// Output r of a packed result: a view of the buffer. Its gradient lands in the matching
// region of a buffer-sized gradient, so the packed node sees one flat gradient whatever
// subset of the pieces reached the loss (the rest count as zeros).
std::vector<Variable> unpack(const Variable& packed, const Packed& layout) {
  std::vector<Variable> out;
  const int64_t total = layout.buffer.numel();
  for (size_t r = 0; r < layout.shapes.size(); ++r) {
    const int64_t offset = layout.offsets[r];
    out.push_back(Variable::make(layout.piece(static_cast<int>(r)), {packed},
                                 [offset, total](std::vector<Variable>& in, const Tensor& gy) {
                                   Tensor g({total});
                                   std::copy_n(gy.data(), gy.numel(), g.data() + offset);
                                   in[0].add_grad(std::move(g));
                                 }));
  }
  return out;
}

// t viewed as `outer` rows, each the ranks' blocks along `axis` (extents[r] * inner floats)
// side by side.
struct AxisRows {
  int64_t outer = 1, inner = 1, row = 0;
  AxisRows(const Tensor& t, int64_t axis) {
    for (int64_t d = 0; d < axis; ++d)
      outer *= t.size(d);
    for (int64_t d = axis + 1; d < t.dim(); ++d)
      inner *= t.size(d);
    row = t.size(axis) * inner;
  }
};

// Rank r's block of every row of t, contiguous at `to`.
void copy_block(const Tensor& t, int64_t axis, const std::vector<int64_t>& extents, int r,
                float* to) {
  const AxisRows rows(t, axis);
  int64_t offset = 0;
  for (int j = 0; j < r; ++j)
    offset += extents[static_cast<size_t>(j)] * rows.inner;
  const int64_t block = extents[static_cast<size_t>(r)] * rows.inner;
  for (int64_t o = 0; o < rows.outer; ++o)
    std::copy_n(t.data() + o * rows.row + offset, block, to + o * block);
}

// t's blocks rank-major (every row's block of rank 0, then of rank 1, ...), as a reduce-scatter
// hands them out; counts[r]: the floats of rank r's.
Tensor pack_blocks(const Tensor& t, int64_t axis, const std::vector<int64_t>& extents,
                   std::vector<int64_t>& counts) {
  const AxisRows rows(t, axis);
  Tensor packed = Tensor::empty({t.numel()});
  counts.clear();
  int64_t at = 0;
  for (size_t r = 0; r < extents.size(); ++r) {
    copy_block(t, axis, extents, static_cast<int>(r), packed.data() + at);
    counts.push_back(rows.outer * extents[r] * rows.inner);
    at += counts.back();
  }
  return packed;
}

// A leaf that requires grad, standing in for an input a rank does not have, so that its
// backward (and the collective inside) runs like everyone else's.
Variable participant() {
  return Variable(Tensor({1}), true);
}

}  // namespace

namespace functions {

std::vector<Variable> allgather(const Communicator& comm, const Variable& x, GradRule rule) {
  profile::Scope scope("dist.allgather");
  check_unsharded(x, "dist::functions::allgather");
  PRISM_CHECK(x.defined(), "allgather: input is undefined on rank " << comm.rank());
  const Packed layout = allgather_packed(comm, x.data());
  const int rank = comm.rank();
  const Shape xshape = x.shape();
  Variable packed =
      Variable::make(layout.buffer, {x},
                     [comm, rule, layout_offsets = layout.offsets, rank, xshape](
                         std::vector<Variable>& in, const Tensor& gy) {
                       Tensor g;
                       if (rule == GradRule::exact) {
                         g = gy.view(layout_offsets[rank], xshape).clone();
                       } else {
                         // Rank r receives the sum over ranks of region r (padding included, then
                         // dropped).
                         std::vector<int64_t> counts;
                         for (size_t r = 0; r + 1 < layout_offsets.size(); ++r)
                           counts.push_back(layout_offsets[r + 1] - layout_offsets[r]);
                         g = dist::reduce_scatter(comm, gy, counts).view(0, xshape);
                       }
                       in[0].add_grad(std::move(g));
                     });
  return unpack(packed, layout);
}

Variable allgather_concat(const Communicator& comm, const Variable& x, int64_t axis, GradRule rule,
                          std::vector<int64_t> extents) {
  profile::Scope scope("dist.allgather_concat");
  check_unsharded(x, "dist::functions::allgather_concat");
  const Tensor xt = x.defined() ? x.data() : Tensor();
  if (extents.empty()) extents = gather_extents(comm, xt, axis);
  Tensor y = dist::allgather_concat(comm, xt, axis, extents);
  const int rank = comm.rank();
  const Shape xshape = x.shape();
  return Variable::make(
      y, {x},
      [comm, rule, axis, extents, rank, xshape](std::vector<Variable>& in, const Tensor& gy) {
        Tensor g;
        if (rule == GradRule::exact) {
          g = Tensor::empty(xshape);
          copy_block(gy, axis, extents, rank, g.data());
        } else {  // rank r receives the sum over ranks of its block
          std::vector<int64_t> counts;
          const Tensor packed = pack_blocks(gy, axis, extents, counts);
          g = dist::reduce_scatter(comm, packed, counts).view(0, xshape);
        }
        in[0].add_grad(std::move(g));
      });
}

Variable reduce_scatter(const Communicator& comm, const Variable& x, int64_t axis,
                        std::vector<int64_t> extents) {
  profile::Scope scope("dist.reduce_scatter");
  PRISM_CHECK(x.defined(), "reduce_scatter: input is undefined on rank " << comm.rank());
  check_unsharded(x, "dist::functions::reduce_scatter");
  const Shape& xs = x.shape();
  PRISM_CHECK(axis >= 0 && axis < static_cast<int64_t>(xs.size()),
              "reduce_scatter: axis " << axis << " out of range for " << to_string(xs));
  PRISM_CHECK(static_cast<int>(extents.size()) == comm.size(),
              "reduce_scatter: " << extents.size() << " extents for " << comm.size() << " ranks");
  int64_t total = 0;
  for (int64_t e : extents) {
    PRISM_CHECK(e >= 0, "reduce_scatter: a negative extent, " << e);
    total += e;
  }
  PRISM_CHECK(total == xs[static_cast<size_t>(axis)],
              "reduce_scatter: the extents add up to " << total << ", but x " << to_string(xs)
                                                       << " has " << xs[static_cast<size_t>(axis)]
                                                       << " along axis " << axis);
  std::vector<int64_t> counts;
  const Tensor packed = pack_blocks(x.data(), axis, extents, counts);
  Shape yshape = xs;
  yshape[static_cast<size_t>(axis)] = extents[static_cast<size_t>(comm.rank())];
  const Tensor y = dist::reduce_scatter(comm, packed, counts).view(0, yshape);
  return Variable::make(y, {x}, [comm, axis, extents](std::vector<Variable>& in, const Tensor& gy) {
    in[0].add_grad(dist::allgather_concat(comm, gy, axis, extents));
  });
}

Variable exchange_channels(const Communicator& comm, const Variable& x,
                           const std::vector<ChannelRun>& send, const std::vector<ChannelRun>& recv,
                           int64_t channels, ChannelShard shard) {
  profile::Scope scope("dist.exchange_channels");
  PRISM_CHECK(x.defined(), "exchange_channels: input is undefined on rank " << comm.rank());
  check_unsharded(x, "dist::functions::exchange_channels");
  const int64_t in_channels = x.shape()[1];
  Tensor y = dist::exchange_channels(comm, x.data(), send, recv, channels);
  return Variable::make(
      y, {x},
      [comm, send, recv, in_channels](std::vector<Variable>& in, const Tensor& gy) {
        in[0].add_grad(dist::exchange_channels(comm, gy, recv, send, in_channels));
      },
      shard);
}

Variable shard_channels(const Communicator& comm, const Variable& x, const ChannelShard& shard) {
  PRISM_CHECK(x.defined() && x.data().dim() >= 2,
              "shard_channels: needs x [N, C, ...], got " << shape_string(x));
  check_unsharded(x, "dist::functions::shard_channels");
  PRISM_CHECK(
      shard.valid() && (!shard.sharded() || shard.channels == x.shape()[1]),
      "shard_channels: x has " << x.shape()[1] << " channels, the shard is " << to_string(shard));
  if (comm.size() == 1 || !shard.sharded()) return x;
  std::vector<int64_t> mine;
  for (int64_t c = 0; c < shard.count(); ++c)
    mine.push_back(shard.full_channel(c));
  return with_channel_shard(select_channels(sum_gradients(comm, x), mine), shard);
}

Variable gather_channels(const Communicator& comm, const Variable& x) {
  profile::Scope scope("dist.gather_channels");
  PRISM_CHECK(x.defined(), "gather_channels: input is undefined on rank " << comm.rank());
  const int p = comm.size(), rank = comm.rank();
  if (p == 1) return x;
  const ChannelShard& shard = x.shard();
  PRISM_CHECK(shard.sharded() && (shard == strided_shard(shard.channels, p, rank) ||
                                  shard == block_shard(shard.channels, p, rank)),
              "gather_channels: rank " << rank << " of " << p
                                       << " needs x sharded as strided_shard or block_shard of "
                                          "its channels for this rank, but x holds "
                                       << to_string(shard));
  const int64_t channels = shard.channels;
  std::vector<ChannelRun> send, recv;
  for (int j = 0; j < p; ++j) {
    const ChannelShard theirs = shard_of_rank(shard, p, j);
    send.push_back({0, shard.count(), 1});
    recv.push_back({theirs.offset, theirs.count(), theirs.stride});
  }
  Tensor y = dist::exchange_channels(comm, x.data(), send, recv, channels);
  const Shape xshape = x.shape();
  return Variable::make(
      y, {x},
      [shard, xshape](std::vector<Variable>& in, const Tensor& gy) {
        Tensor g = Tensor::empty(xshape);
        const int64_t n = xshape[0], local = xshape[1],
                      plane = g.numel() / std::max<int64_t>(1, n * local);
        for (int64_t b = 0; b < n; ++b)
          for (int64_t c = 0; c < local; ++c)
            std::copy_n(gy.data() + (b * shard.channels + shard.full_channel(c)) * plane, plane,
                        g.data() + (b * local + c) * plane);
        in[0].add_grad(std::move(g));
      },
      ChannelShard{});
}

Variable sum_gradients(const Communicator& comm, const Variable& x) {
  profile::Scope scope("dist.sum_gradients");
  PRISM_CHECK(x.defined(), "sum_gradients: input is undefined on rank " << comm.rank());
  return Variable::make(x.data(), {x}, [comm](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g = gy.clone();
    dist::allreduce(comm, g);
    in[0].add_grad(std::move(g));
  });
}

Variable bcast(const Communicator& comm, const Variable& x, int root) {
  profile::Scope scope("dist.bcast");
  if (x.defined()) check_unsharded(x, "dist::functions::bcast");
  const bool is_root = comm.rank() == root;
  PRISM_CHECK(!is_root || x.defined(), "bcast: the root's input is undefined");
  // Whether the output needs a gradient is root's to say.
  std::vector<uint8_t> flag{static_cast<uint8_t>(is_root && x.requires_grad() && grad_enabled())};
  bcast_values(comm, flag, root);
  const Tensor y = dist::bcast(comm, is_root ? x.data() : Tensor(), root);
  if (!flag[0]) return Variable(y);
  Variable input = is_root ? x : participant();
  return Variable::make(y, {input},
                        [comm, root, is_root](std::vector<Variable>& in, const Tensor& gy) {
                          Tensor g = is_root ? Tensor(gy.shape()) : Tensor();
                          check_mpi(MPI_Reduce(gy.data(), is_root ? g.data() : nullptr,
                                               mpi_count(gy.numel(), "bcast backward"), MPI_FLOAT,
                                               MPI_SUM, root, mpi_comm(comm)),
                                    "MPI_Reduce");
                          if (is_root && in[0].requires_grad()) in[0].add_grad(std::move(g));
                        });
}

std::vector<Variable> alltoall(const Communicator& comm, const std::vector<Variable>& xs) {
  profile::Scope scope("dist.alltoall");
  for (const Variable& x : xs)
    check_unsharded(x, "dist::functions::alltoall");
  std::vector<Tensor> send;
  for (const Variable& x : xs) {
    PRISM_CHECK(x.defined(), "alltoall: an input is undefined on rank " << comm.rank());
    send.push_back(x.data());
  }
  const Packed layout = alltoall_packed(comm, send);
  std::vector<Variable> inputs = xs;
  inputs.push_back(participant());  // every rank runs backward even if it sends no gradient
  Variable packed = Variable::make(
      layout.buffer, inputs, [comm, layout](std::vector<Variable>& in, const Tensor& gy) {
        // The gradient of what came from rank j goes back to rank j.
        Packed g = layout;
        g.buffer = gy;
        const std::vector<Tensor> back = dist::alltoall(comm, g.pieces());
        for (size_t j = 0; j + 1 < in.size(); ++j)
          if (in[j].requires_grad()) in[j].add_grad(back[j].clone());
      });
  return unpack(packed, layout);
}

}  // namespace functions

}  // namespace prism::dist

#include "nn/parallel_convolution_2d.hpp"

#include <deque>

#include "core/profiler.hpp"
#include "ops/arithmetic.hpp"
#include "ops/conv2d.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "ops/kernels/conv2d_reference.hpp"  // conv2d_backward_bias
#include "ops/shape.hpp"

namespace prism::nn {

namespace {

// Checked before the base class is built, so a bad partition fails with its own message.
void check_count(const dist::Communicator& comm, int64_t channels, const char* what) {
  PRISM_CHECK(comm.size() <= channels,
              "ParallelConvolution2D: " << comm.size() << " ranks but only " << channels << " "
                                        << what << " channels: every rank needs at least one "
                                        << "(use a Convolution2D for this layer)");
}

Stationary resolve(Partition partition, Stationary stationary, int64_t in, int64_t out,
                   Size2 stride) {
  if (partition == Partition::seed) return Stationary::output;
  if (stationary != Stationary::automatic) return stationary;
  return ParallelConvolution2D::automatic_stationary(in, out, stride);
}

// The local weights' generator for the seed partition: one draw of global_rng() on every rank,
// mixed with the rank.
Rng& partition_rng(const dist::Communicator& comm) {
  thread_local Rng rng;
  rng = Rng(global_rng().next_u64() ^
            (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(comm.rank() + 1)));
  return rng;
}

// This rank's W: for the seed partition its own draw; for the filter partition its slice of
// the whole layer's, drawn as Convolution2D(in, out) draws it: filters [off, off + K_r)
// (Y-stationary) or input channels [off, off + C_r) of every filter (X-stationary).
Tensor initial_weight(const dist::Communicator& comm, int64_t in, int64_t out, Size2 k,
                      Partition partition, Stationary stationary) {
  const int p = comm.size(), rank = comm.rank();
  check_count(comm, out, "output");
  const int64_t k_r = ParallelConvolution2D::channel_count(out, p, rank);
  PRISM_CHECK(in > 0 && k.h > 0 && k.w > 0,
              "ParallelConvolution2D: needs positive channels "
              "and ksize, got in "
                  << in << ", ksize " << to_string(k));
  const int64_t window = k.h * k.w;
  if (partition == Partition::seed) {
    check_count(comm, in, "input");
    const int64_t c_r = ParallelConvolution2D::channel_count(in, p, rank);
    return lecun_normal({k_r, c_r, k.h, k.w}, c_r * window, partition_rng(comm));
  }
  const Tensor full = lecun_normal({out, in, k.h, k.w}, in * window);
  if (stationary == Stationary::output) {
    const int64_t off = block_offset(out, p, rank);
    return full.view(off * in * window, {k_r, in, k.h, k.w}).clone();
  }
  check_count(comm, in, "input");
  const int64_t c_r = ParallelConvolution2D::channel_count(in, p, rank),
                off = block_offset(in, p, rank);
  Tensor w = Tensor::empty({out, c_r, k.h, k.w});
  for (int64_t o = 0; o < out; ++o)
    std::copy_n(full.data() + (o * in + off) * window, c_r * window, w.data() + o * c_r * window);
  return w;
}

std::vector<int64_t> block_extents(int64_t channels, int p) {
  std::vector<int64_t> extents;
  for (int r = 0; r < p; ++r)
    extents.push_back(ParallelConvolution2D::channel_count(channels, p, r));
  return extents;
}

std::vector<int64_t> channel_range(int64_t first, int64_t count) {
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    out[static_cast<size_t>(i)] = first + i;
  return out;
}

}  // namespace

int64_t ParallelConvolution2D::channel_count(int64_t channels, int size, int rank) {
  return channels / size + (rank < channels % size ? 1 : 0);
}

std::vector<int64_t> ParallelConvolution2D::input_channels(int64_t channels, int size, int rank) {
  std::vector<int64_t> out;
  for (int64_t c = rank; c < channels; c += size)
    out.push_back(c);
  return out;
}

int64_t ParallelConvolution2D::output_offset(int64_t channels, int size, int rank) {
  return block_offset(channels, size, rank);
}

Stationary ParallelConvolution2D::automatic_stationary(int64_t in_channels, int64_t out_channels,
                                                       Size2 stride) {
  return out_channels < in_channels * stride.h * stride.w ? Stationary::input : Stationary::output;
}

ParallelConvolution2D::ParallelConvolution2D(const dist::Communicator& comm, int64_t in_channels,
                                             int64_t out_channels, Size2 ksize, Size2 stride,
                                             Size2 pad, bool nobias, dist::GradRule rule,
                                             Layout output, Partition partition,
                                             Stationary stationary)
    : Convolution2D(
          initial_weight(comm, in_channels, out_channels, ksize, partition,
                         resolve(partition, stationary, in_channels, out_channels, stride)),
          nobias ? Tensor()
                 : Tensor::zeros({channel_count(out_channels, comm.size(), comm.rank())}),
          stride, pad),
      comm_(comm),
      rule_(rule),
      output_(output),
      partition_(partition),
      stationary_(resolve(partition, stationary, in_channels, out_channels, stride)),
      in_channels_(in_channels),
      out_channels_(out_channels) {
  const int p = comm_.size(), rank = comm_.rank();
  if (partition_ == Partition::filter) {
    inputs_ = stationary_ == Stationary::output
                  ? channel_range(0, in_channels)
                  : channel_range(block_offset(in_channels, p, rank),
                                  channel_count(in_channels, p, rank));
    return;
  }
  inputs_ = input_channels(in_channels, p, rank);
  // Rank i's block [offset_i, offset_i + K_i) holds, of rank j's channels j, j + P, ..., those
  // from the first c >= offset_i with c % P == j; they are consecutive in j's shard, and the
  // blocks lie in rank order, so what j receives from ranks 0, 1, ... fills its shard in order.
  auto run = [&](int i, int j) {  // rank i's output channels that rank j reads, in i's block
    const int64_t offset = output_offset(out_channels, p, i);
    const int64_t first = offset + ((j - offset) % p + p) % p;
    const int64_t end = offset + channel_count(out_channels, p, i);
    return dist::ChannelRun{first - offset, first < end ? (end - 1 - first) / p + 1 : 0, p};
  };
  int64_t at = 0;  // where rank i's channels start in this rank's shard
  for (int j = 0; j < p; ++j) {
    send_.push_back(run(rank, j));
    const dist::ChannelRun from = run(j, rank);
    recv_.push_back({at, from.count, 1});
    at += from.count;
  }
}

std::vector<EntrySlice> ParallelConvolution2D::entry_slices() const {
  if (partition_ == Partition::seed) return {};
  const bool y = stationary_ == Stationary::output;
  std::vector<EntrySlice> out{{"W", y ? 0 : 1, y ? output_shard() : input_shard()}};
  if (b().defined()) out.push_back({"b", 0, output_shard()});
  return out;
}

ChannelShard ParallelConvolution2D::input_shard() const {
  return partition_ == Partition::seed ? strided_shard(in_channels_, comm_.size(), comm_.rank())
                                       : block_shard(in_channels_, comm_.size(), comm_.rank());
}

ChannelShard ParallelConvolution2D::output_shard() const {
  return partition_ == Partition::seed ? strided_shard(out_channels_, comm_.size(), comm_.rank())
                                       : block_shard(out_channels_, comm_.size(), comm_.rank());
}

Variable ParallelConvolution2D::forward(const Variable& x) {
  const int p = comm_.size(), rank = comm_.rank();
  const ChannelShard mine = input_shard();
  PRISM_CHECK(x.defined() && x.data().dim() == 4, "ParallelConvolution2D: expected x [N, "
                                                      << in_channels_ << ", H, W], got "
                                                      << shape_string(x));
  PRISM_CHECK(!x.shard().sharded() || x.shard() == mine,
              "ParallelConvolution2D: rank " << rank << " reads " << to_string(mine)
                                             << ", but x holds " << to_string(x.shard()));
  PRISM_CHECK(x.shard().sharded() || x.shape()[1] == in_channels_,
              "ParallelConvolution2D: expected x [N, " << in_channels_ << ", H, W], got "
                                                       << shape_string(x));
  if (p == 1) return Convolution2D::forward(x);
  if (partition_ == Partition::filter) return forward_filter(x);
  Variable local;
  if (x.shard().sharded()) {
    local = with_channel_shard(x, ChannelShard{});  // its channels are this layer's inputs
  } else {
    const bool exact = rule_ == dist::GradRule::exact;
    local = select_channels(exact ? dist::functions::sum_gradients(comm_, x) : x, inputs_);
  }
  if (output_ == Layout::sharded) return convolve_and_exchange(local);
  const Variable y = Convolution2D::forward(local);
  return dist::functions::allgather_concat(comm_, y, 1, rule_, block_extents(out_channels_, p));
}

// Composed of the differentiable collectives: each one's backward is the exchange the math
// asks for (an allgather's is a reduce-scatter, and the reverse).
Variable ParallelConvolution2D::forward_filter(const Variable& x) {
  const int p = comm_.size();
  const bool sharded = x.shard().sharded();
  const Variable replicated =
      sharded || rule_ != dist::GradRule::exact ? x : dist::functions::sum_gradients(comm_, x);
  Variable y;
  if (stationary_ == Stationary::output) {
    PRISM_CHECK(!sharded || p <= in_channels_, "ParallelConvolution2D: a sharded input of "
                                                   << in_channels_ << " channels on " << p
                                                   << " ranks leaves a rank none");
    const Variable whole = sharded ? dist::functions::allgather_concat(
                                         comm_, with_channel_shard(x, ChannelShard{}), 1,
                                         dist::GradRule::chainermn, block_extents(in_channels_, p))
                                   : replicated;
    y = Convolution2D::forward(whole);  // filters [off_r, off_r + K_r) over every channel
  } else {
    const Variable block =
        sharded ? with_channel_shard(x, ChannelShard{}) : select_channels(replicated, inputs_);
    const Variable partial = conv2d(block, W(), Variable(), stride(), pad());  // all K filters
    y = dist::functions::reduce_scatter(comm_, partial, 1, block_extents(out_channels_, p));
    if (b().defined()) y = add(y, reshape(b(), {b().shape()[0], 1, 1}));
  }
  if (output_ == Layout::sharded) return with_channel_shard(y, output_shard());
  return dist::functions::allgather_concat(comm_, y, 1, rule_, block_extents(out_channels_, p));
}

void ParallelConvolution2D::set_chunks(int64_t chunks) {
  PRISM_CHECK(chunks >= 1, "ParallelConvolution2D: needs at least one chunk, got " << chunks);
  chunks_ = chunks;
}

namespace {

// The batch in chunks of whole images: [begin, end) each, as even as they come, none empty.
std::vector<std::pair<int64_t, int64_t>> image_chunks(int64_t n, int64_t chunks) {
  std::vector<std::pair<int64_t, int64_t>> out;
  const int64_t m = std::max<int64_t>(1, std::min(chunks, n));
  for (int64_t i = 0; i < m; ++i)
    out.emplace_back(n * i / m, n * (i + 1) / m);
  return out;
}

}  // namespace

// conv2d and the exchange of its output as one op, on chunks of images, so that MPI moves one
// chunk while the next is computed: forward, chunk i's output travels while chunk i + 1 is
// convolved; backward, chunk i + 1's gradient travels while chunk i's input gradient is
// computed. The weight gradient is computed once, on the whole batch, as conv2d computes it.
// Every image's values are conv2d's, bit for bit.
Variable ParallelConvolution2D::convolve_and_exchange(const Variable& x) {
  profile::Scope scope("conv2d");
  const int rank = comm_.rank();
  const Shape& xs = x.shape();
  const Shape& ws = W().shape();
  PRISM_CHECK(xs[1] == ws[1], "ParallelConvolution2D: rank " << rank << " convolves " << ws[1]
                                                             << " input channels, x has " << xs[1]);
  const kernels::ConvShape s = kernels::make_conv_shape(
      xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], stride().h, stride().w, pad().h, pad().w);
  const double flops = 2.0 * double(s.n * s.k * s.ho * s.wo) * double(s.c * s.kh * s.kw);
  profile::add_flops(flops);
  const ChannelShard shard = output_shard();
  const int64_t plane = s.ho * s.wo, image = s.c * s.h * s.w;
  const auto chunks = image_chunks(s.n, chunks_);
  const Tensor tx = x.data(), tw = W().data(), tb = b().defined() ? b().data() : Tensor();
  // Chunk [b0, b1) of this rank's output block, of the shard, of the input.
  auto block_of = [=](const Tensor& t, int64_t b0, int64_t b1) {
    return dist::ImageBlock{t.data() + b0 * s.k * plane, b1 - b0, s.k, plane};
  };
  auto shard_of = [=](const Tensor& t, int64_t b0, int64_t b1) {
    return dist::ImageBlock{t.data() + b0 * shard.count() * plane, b1 - b0, shard.count(), plane};
  };
  auto chunk_shape = [=](int64_t b0, int64_t b1) {
    kernels::ConvShape c = s;
    c.n = b1 - b0;
    return c;
  };

  Tensor block = Tensor::empty({s.n, s.k, s.ho, s.wo});
  Tensor y = Tensor::empty({s.n, shard.count(), s.ho, s.wo});
  {
    std::deque<dist::ChannelExchange> moving;
    for (const auto& [b0, b1] : chunks) {
      kernels::conv2d_forward(chunk_shape(b0, b1), tx.data() + b0 * image, tw.data(),
                              tb.defined() ? tb.data() : nullptr, block.data() + b0 * s.k * plane);
      for (dist::ChannelExchange& m : moving)
        m.test();
      moving.emplace_back(comm_, block_of(block, b0, b1), send_, shard_of(y, b0, b1), recv_);
    }
    for (dist::ChannelExchange& m : moving)
      m.wait();
  }

  std::vector<Variable> inputs{x, W()};
  if (b().defined()) inputs.push_back(b());
  return Variable::make(
      y, inputs,
      [=, comm = comm_, send = send_, recv = recv_](std::vector<Variable>& in, const Tensor& gy) {
        Tensor gblock = Tensor::empty({s.n, s.k, s.ho, s.wo});
        const bool data = in[0].requires_grad();
        Tensor gx = data ? Tensor::empty(tx.shape()) : Tensor();
        std::deque<dist::ChannelExchange> moving;
        auto start = [&](size_t i) {
          const auto [b0, b1] = chunks[i];
          moving.emplace_back(comm, shard_of(gy, b0, b1), recv, block_of(gblock, b0, b1), send);
        };
        start(0);
        for (size_t i = 0; i < chunks.size(); ++i) {
          if (i + 1 < chunks.size()) start(i + 1);
          moving[i].wait();
          const auto [b0, b1] = chunks[i];
          if (data)
            kernels::conv2d_backward_data(chunk_shape(b0, b1), gblock.data() + b0 * s.k * plane,
                                          tw.data(), gx.data() + b0 * image);
        }
        if (data) {
          profile::add_flops(flops);
          in[0].add_grad(std::move(gx));
        }
        if (in[1].requires_grad()) {
          profile::add_flops(flops);
          Tensor g = Tensor::empty(tw.shape());
          kernels::conv2d_backward_weights(s, tx.data(), gblock.data(), g.data());
          in[1].add_grad(std::move(g));
        }
        if (in.size() > 2 && in[2].requires_grad()) {
          Tensor g = Tensor::empty({s.k});
          kernels::conv2d_backward_bias(s, gblock.data(), g.data());
          in[2].add_grad(std::move(g));
        }
      },
      shard);
}

}  // namespace prism::nn

#include "nn/parallel_convolution_2d.hpp"

#include <deque>

#include "core/profiler.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "ops/kernels/conv2d_reference.hpp"  // conv2d_backward_bias
#include "ops/shape.hpp"

namespace prism::nn {

namespace {

// Checked before the base class is built, so a bad partition fails with its own message.
int64_t checked_count(const dist::Communicator& comm, int64_t channels, const char* what) {
  PRISM_CHECK(comm.size() <= channels,
              "ParallelConvolution2D: " << comm.size() << " ranks but only " << channels << " "
                                        << what << " channels: every rank needs at least one "
                                        << "(use a Convolution2D for this layer)");
  return ParallelConvolution2D::channel_count(channels, comm.size(), comm.rank());
}

// The local weights' generator: one draw of global_rng() on every rank, mixed with the rank.
Rng& partition_rng(const dist::Communicator& comm) {
  thread_local Rng rng;
  rng = Rng(global_rng().next_u64() ^
            (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(comm.rank() + 1)));
  return rng;
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
  int64_t offset = 0;
  for (int j = 0; j < rank; ++j)
    offset += channel_count(channels, size, j);
  return offset;
}

ParallelConvolution2D::ParallelConvolution2D(const dist::Communicator& comm, int64_t in_channels,
                                             int64_t out_channels, Size2 ksize, Size2 stride,
                                             Size2 pad, bool nobias, dist::GradRule rule,
                                             Layout output)
    : Convolution2D(checked_count(comm, in_channels, "input"),
                    checked_count(comm, out_channels, "output"), ksize, stride, pad, nobias,
                    partition_rng(comm)),
      comm_(comm),
      rule_(rule),
      output_(output),
      in_channels_(in_channels),
      out_channels_(out_channels),
      inputs_(input_channels(in_channels, comm_.size(), comm_.rank())) {
  // Rank i's block [offset_i, offset_i + K_i) holds, of rank j's channels j, j + P, ..., those
  // from the first c >= offset_i with c % P == j; they are consecutive in j's shard, and the
  // blocks lie in rank order, so what j receives from ranks 0, 1, ... fills its shard in order.
  const int p = comm_.size(), rank = comm_.rank();
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

Variable ParallelConvolution2D::forward(const Variable& x) {
  const int p = comm_.size(), rank = comm_.rank();
  const ChannelShard mine = channel_shard(in_channels_, p, rank);
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
  Variable local;
  if (x.shard().sharded()) {
    local = with_channel_shard(x, ChannelShard{});  // its channels are this layer's inputs
  } else {
    const bool exact = rule_ == dist::GradRule::exact;
    local = select_channels(exact ? dist::functions::sum_gradients(comm_, x) : x, inputs_);
  }
  if (output_ == Layout::sharded) return convolve_and_exchange(local);
  const Variable y = Convolution2D::forward(local);
  std::vector<int64_t> extents;  // the partition: every rank's output channels
  for (int r = 0; r < p; ++r)
    extents.push_back(channel_count(out_channels_, p, r));
  return dist::functions::allgather_concat(comm_, y, 1, rule_, std::move(extents));
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
  const int p = comm_.size(), rank = comm_.rank();
  const Shape& xs = x.shape();
  const Shape& ws = W().shape();
  PRISM_CHECK(xs[1] == ws[1], "ParallelConvolution2D: rank " << rank << " convolves " << ws[1]
                                                             << " input channels, x has " << xs[1]);
  const kernels::ConvShape s = kernels::make_conv_shape(
      xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], stride().h, stride().w, pad().h, pad().w);
  const double flops = 2.0 * double(s.n * s.k * s.ho * s.wo) * double(s.c * s.kh * s.kw);
  profile::add_flops(flops);
  const ChannelShard shard = channel_shard(out_channels_, p, rank);
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

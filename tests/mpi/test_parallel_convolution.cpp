#include <doctest/doctest.h>

#include "dist/collectives.hpp"
#include "gradcheck.hpp"
#include "nn/parallel_convolution_2d.hpp"

using namespace prism;
using prism::nn::ParallelConvolution2D;
using prism::testing::max_rel_diff;
using prism::testing::random_tensor;

namespace {

// The single-process weight the ranks compute together: each rank's local W in its
// (output block x its input channels) cells, zeros elsewhere. dist::allgather is used as a
// plain tool here: it is tested on its own.
Tensor assemble(const dist::Communicator& comm, const Tensor& local, int64_t c, int64_t k) {
  const std::vector<Tensor> parts = dist::allgather(comm, local);
  const int64_t kh = local.size(2), kw = local.size(3), taps = kh * kw;
  Tensor full({k, c, kh, kw});
  for (int r = 0; r < comm.size(); ++r) {
    const int64_t first = ParallelConvolution2D::output_offset(k, comm.size(), r);
    const std::vector<int64_t> ins = ParallelConvolution2D::input_channels(c, comm.size(), r);
    for (int64_t o = 0; o < parts[r].size(0); ++o)
      for (size_t i = 0; i < ins.size(); ++i)
        std::copy_n(parts[r].data() + (o * static_cast<int64_t>(ins.size()) + i) * taps, taps,
                    full.data() + ((first + o) * c + ins[i]) * taps);
  }
  return full;
}

// Every rank's flat tensor, concatenated in rank order into `total` elements.
Tensor gather_flat(const dist::Communicator& comm, const Tensor& local, int64_t total) {
  Tensor out({total});
  int64_t at = 0;
  for (const Tensor& part : dist::allgather(comm, local)) {
    std::copy_n(part.data(), part.numel(), out.data() + at);
    at += part.numel();
  }
  REQUIRE(at == total);
  return out;
}

// The rank's own cells of a full [K, C, kh, kw] tensor, in the local weight's layout.
Tensor local_cells(const dist::Communicator& comm, const Tensor& full, const Shape& local_shape) {
  const int64_t k = full.size(0), c = full.size(1), taps = full.size(2) * full.size(3);
  const int64_t first = ParallelConvolution2D::output_offset(k, comm.size(), comm.rank());
  const std::vector<int64_t> ins =
      ParallelConvolution2D::input_channels(c, comm.size(), comm.rank());
  Tensor out(local_shape);
  for (int64_t o = 0; o < local_shape[0]; ++o)
    for (size_t i = 0; i < ins.size(); ++i)
      std::copy_n(full.data() + ((first + o) * c + ins[i]) * taps, taps,
                  out.data() + (o * static_cast<int64_t>(ins.size()) + i) * taps);
  return out;
}

}  // namespace

TEST_CASE("ParallelConvolution2D: partition is the seed's") {
  // 7 output channels on 3 ranks: 3, 2, 2 in rank order; inputs r, r + 3, ... < 5.
  CHECK(ParallelConvolution2D::channel_count(7, 3, 0) == 3);
  CHECK(ParallelConvolution2D::channel_count(7, 3, 2) == 2);
  CHECK(ParallelConvolution2D::output_offset(7, 3, 2) == 5);
  CHECK(ParallelConvolution2D::input_channels(5, 3, 1) == std::vector<int64_t>{1, 4});
  CHECK(ParallelConvolution2D::input_channels(5, 3, 2) == std::vector<int64_t>{2});
}

TEST_CASE("ParallelConvolution2D: equals the masked single-process convolution, fwd and bwd") {
  const dist::Communicator comm = dist::Communicator::world();
  const int64_t c = 5, k = 7, n = 2, hw = 6;
  for (dist::GradRule mode : {dist::GradRule::exact, dist::GradRule::chainermn})
    for (int64_t stride : {1, 2})
      for (int64_t pad : {0, 1}) {
        INFO("stride " << stride << " pad " << pad << " mode "
                       << (mode == dist::GradRule::exact ? "exact" : "chainermn"));
        manual_seed(5);
        ParallelConvolution2D pc(comm, c, k, 3, stride, pad, false, mode);
        // Nonzero biases, so their placement is checked too.
        Rng brng(60 + comm.rank());
        brng.fill_uniform(pc.b().data(), -1, 1);
        Rng xrng(50);  // the same input on every rank
        Tensor xt = random_tensor({n, c, hw, hw}, xrng);
        Variable x(xt.clone(), true);
        Variable y = pc(x);

        const Tensor w_full = assemble(comm, pc.W().data(), c, k);
        const Tensor b_full = gather_flat(comm, pc.b().data(), k);
        Variable xr(xt.clone(), true), wr(w_full, true), br(b_full, true);
        Variable yr = conv2d(xr, wr, br, stride, pad);
        CHECK(max_rel_diff(y.data(), yr.data()) < 1e-5);

        // exact: one projection everywhere, so every rank computes the same loss, and the
        // gradients are that loss's. chainermn: each rank its own projection, and the
        // gradients are those of the sum of the ranks' losses.
        const bool local = mode == dist::GradRule::exact;
        Rng rrng(local ? 70 : 70 + static_cast<uint64_t>(comm.rank()));
        Tensor r = random_tensor(y.shape(), rrng);
        y.backward(r);
        Tensor r_ref = r.clone();
        if (!local) dist::allreduce(comm, r_ref);
        yr.backward(r_ref);

        CHECK(max_rel_diff(pc.W().grad(), local_cells(comm, wr.grad(), pc.W().shape())) < 1e-5);
        const int64_t first = ParallelConvolution2D::output_offset(k, comm.size(), comm.rank());
        CHECK(max_rel_diff(pc.b().grad(), br.grad().view(first, pc.b().shape())) < 1e-5);
        // exact: the input gradient is whole on every rank. chainermn: each rank's covers the
        // paths through its own weights, and the sum over ranks is the whole.
        Tensor gx = x.grad().clone();
        if (!local) dist::allreduce(comm, gx);
        CHECK(max_rel_diff(gx, xr.grad()) < 1e-5);
      }
}

TEST_CASE("ParallelConvolution2D: more ranks than channels is an error that says so") {
  const dist::Communicator comm = dist::Communicator::world();
  if (comm.size() < 2) return;
  CHECK_THROWS_WITH_AS(
      ParallelConvolution2D(comm, comm.size() - 1, 8, 3),
      doctest::Contains(("only " + std::to_string(comm.size() - 1) + " input").c_str()), Error);
  CHECK_THROWS_WITH_AS(ParallelConvolution2D(comm, 8, comm.size() - 1, 3),
                       doctest::Contains("output channels"), Error);
  ParallelConvolution2D pc(comm, 8, 8, 1);
  CHECK_THROWS_WITH_AS(pc(Variable(Tensor({1, 7, 2, 2}))),
                       doctest::Contains("expected x [N, 8, H, W], got [1, 7, 2, 2]"), Error);
}

TEST_CASE("ParallelConvolution2D (seed): a grouped convolution with groups = P after a shuffle") {
  // Rank r reads input channels r, r + P, ...: shuffled into consecutive blocks, rank r's is
  // block r, and its filters are output block r, so the layer is conv2d(shuffle(x), W', b,
  // groups = P) with W' the ranks' weights stacked in rank order. 12 channels split evenly
  // on 1 to 4 ranks.
  const dist::Communicator comm = dist::Communicator::world();
  const int p = comm.size();
  const int64_t c = 12, k = 12, n = 2, hw = 5;
  std::vector<int64_t> shuffle;
  for (int r = 0; r < p; ++r)
    for (int64_t ch : ParallelConvolution2D::input_channels(c, p, r))
      shuffle.push_back(ch);
  for (int64_t stride : {1, 2}) {
    INFO("stride " << stride << " on " << p << " ranks");
    manual_seed(9);
    ParallelConvolution2D pc(comm, c, k, 3, stride, 1, false);
    Rng brng(80 + comm.rank());
    brng.fill_uniform(pc.b().data(), -1, 1);
    Rng xrng(81);
    const Tensor xt = random_tensor({n, c, hw, hw}, xrng);
    Variable x(xt.clone(), true);
    Variable y = pc(x);

    const Tensor stacked = gather_flat(comm, pc.W().data(), k * (c / p) * 9);
    Variable xr(xt.clone(), true), wr(stacked.reshape({k, c / p, 3, 3}), true),
        br(gather_flat(comm, pc.b().data(), k), true);
    Variable yr = conv2d(select_channels(xr, shuffle), wr, br, stride, 1, p);
    CHECK(max_rel_diff(y.data(), yr.data()) < 1e-5);

    Rng rrng(82);  // one projection everywhere: every rank's loss is the same
    const Tensor r = random_tensor(y.shape(), rrng);
    y.backward(r);
    yr.backward(r);
    const int64_t first = ParallelConvolution2D::output_offset(k, p, comm.rank());
    CHECK(max_rel_diff(pc.W().grad(), wr.grad().view(first * (c / p) * 9, pc.W().shape())) < 1e-5);
    CHECK(max_rel_diff(pc.b().grad(), br.grad().view(first, pc.b().shape())) < 1e-5);
    CHECK(max_rel_diff(x.grad(), xr.grad()) < 1e-5);
  }
}

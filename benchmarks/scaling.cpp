// scaling: the measurements behind the scaling model (benchmarks/scaling_model.py,
// docs/scaling.md). It times the parts a VGG16 step is made of on this machine, one thread each,
// and prints them as one JSON object; the model adds them up for P ranks in each layout.
//
//   scaling compute [--image-size=32] [--batch=64]   # one process
//   mpiexec -n 2 scaling comm                        # the collectives at this rank count
//
// compute: every convolution shape a rank of VGG16 meets at P = 1, 2, 3, 4, 8, 16, 32, 64 in
//   the seed partition (ceil(C/P) inputs, ceil(K/P) outputs: the busiest rank) and in the filter
//   partition (all C inputs, ceil(K/P) outputs): forward, backward data and backward weights in
//   ms, the median of 3 after one untimed run, through the same kernels as conv2d. Then one
//   serial VGG16 training step under the profiler: its rows (op -> ms per step), which the model
//   splits into the per-channel layers between the convolutions, the classifier, and the rest.
// comm: dist::allgather_concat, dist::reduce_scatter, dist::alltoall and dist::allreduce of
//   8 KiB to 32 MiB (the whole tensor: what the ranks hold together), each the median of 7
//   after one untimed call, every call starting at a barrier, timed on rank 0. The model fits
//   t = alpha * steps + beta * bytes received per rank to these points.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/parallel.hpp"
#include "core/profiler.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "dist/collectives.hpp"
#include "dist/communicator.hpp"
#include "nn/classifier.hpp"
#include "nn/vgg16.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "optim/momentum_sgd.hpp"

namespace {

using namespace prism;

constexpr int kRanks[] = {1, 2, 3, 4, 8, 16, 32, 64};
// VGG16's convolutions: (input channels, output channels, the image side divided by this).
struct Layer {
  int64_t c, k, shrink;
};
constexpr Layer kLayers[] = {{3, 64, 1},    {64, 64, 1},   {64, 128, 2},   {128, 128, 2},
                             {128, 256, 4}, {256, 256, 4}, {256, 256, 4},  {256, 512, 8},
                             {512, 512, 8}, {512, 512, 8}, {512, 512, 16}, {512, 512, 16},
                             {512, 512, 16}};

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The median of `runs` timed calls of f in ms, after one untimed call.
double median_ms(int runs, const std::function<void()>& f) {
  f();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int compute(int64_t image, int64_t batch) {
  std::printf("{\"image_size\": %lld, \"batch\": %lld, \"threads\": %d,\n \"conv\": [",
              static_cast<long long>(image), static_cast<long long>(batch), num_threads());
  std::set<std::tuple<int64_t, int64_t, int64_t>> shapes;  // (c, k, hw)
  for (const Layer& l : kLayers)
    for (int p : kRanks) {
      shapes.insert({l.c, ceil_div(l.k, p), image / l.shrink});               // filter
      shapes.insert({ceil_div(l.c, p), ceil_div(l.k, p), image / l.shrink});  // seed
    }
  Rng rng(1);
  const char* sep = "";
  for (const auto& [c, k, hw] : shapes) {
    const kernels::ConvShape s = kernels::make_conv_shape(batch, c, hw, hw, k, 3, 3, 1, 1, 1, 1);
    Tensor x({batch, c, hw, hw}), w({k, c, 3, 3}), y({batch, k, hw, hw}), dy({batch, k, hw, hw});
    Tensor dx({batch, c, hw, hw}), dw({k, c, 3, 3});
    rng.fill_uniform(x, -1.0f, 1.0f);
    rng.fill_uniform(w, -0.1f, 0.1f);
    rng.fill_uniform(dy, -1.0f, 1.0f);
    const int runs = 3;
    const double fwd =
        median_ms(runs, [&] { kernels::conv2d_forward(s, x.data(), w.data(), nullptr, y.data()); });
    const double bwd_data =
        median_ms(runs, [&] { kernels::conv2d_backward_data(s, dy.data(), w.data(), dx.data()); });
    const double bwd_weights = median_ms(
        runs, [&] { kernels::conv2d_backward_weights(s, x.data(), dy.data(), dw.data()); });
    std::printf(
        "%s\n  {\"c\": %lld, \"k\": %lld, \"hw\": %lld, \"fwd_ms\": %.4f, "
        "\"bwd_data_ms\": %.4f, \"bwd_weights_ms\": %.4f}",
        sep, static_cast<long long>(c), static_cast<long long>(k), static_cast<long long>(hw), fwd,
        bwd_data, bwd_weights);
    std::fflush(stdout);
    sep = ",";
  }

  // One serial step, as vgg_step runs it, under the profiler (after an untimed one).
  const dist::Communicator alone;
  nn::Classifier model(
      std::make_shared<nn::VGG16>(alone, 3, 10, nn::Layout::sharded, Size2{image, image}));
  optim::MomentumSGD optimizer(model.named_parameters(), 0.01f);
  Tensor x({batch, 3, image, image});
  Labels t(batch);
  rng.fill_uniform(x, -1.0f, 1.0f);
  for (int64_t i = 0; i < batch; ++i)
    t[i] = static_cast<int32_t>(rng.below(10));
  auto step = [&] {
    model.zero_grad();
    model(Variable(x), t).backward();
    optimizer.update();
  };
  step();
  const int steps = 3;
  profile::enable(true);
  const double wall = median_ms(steps - 1, step);
  std::printf("\n ],\n \"step_ms\": %.3f,\n \"profile_steps\": %d,\n \"ops\": {", wall, steps);
  sep = "";
  for (const profile::Row& row : profile::rows()) {
    std::printf("%s\"%s\": %.4f", sep, row.op.c_str(),
                double(row.forward_ns + row.backward_ns) / 1e6 / steps);
    sep = ", ";
  }
  profile::enable(false);
  int64_t parameters = 0;
  for (const auto& [name, p] : model.named_parameters())
    parameters += p.data().numel();
  std::printf("},\n \"parameters\": %lld}\n", static_cast<long long>(parameters));
  return 0;
}

int comm(const dist::Communicator& world) {
  const int p = world.size();
  if (world.rank() == 0) std::printf("{\"ranks\": %d,\n \"collectives\": [", p);
  const char* sep = "";
  auto time = [&](const char* name, int64_t floats, const std::function<void()>& f) {
    const double ms = median_ms(7, [&] {
      world.barrier();
      f();
    });
    if (world.rank() != 0) return;
    std::printf("%s\n  {\"op\": \"%s\", \"bytes\": %lld, \"ms\": %.5f}", sep, name,
                static_cast<long long>(floats * 4), ms);
    std::fflush(stdout);
    sep = ",";
  };
  // The barrier alone, timed the same way: what time() adds to every call.
  time("barrier", 0, [] {});
  for (int64_t bytes = int64_t{8} << 10; bytes <= int64_t{32} << 20; bytes *= 4) {
    const int64_t n = bytes / 4 / p * p;  // floats, a multiple of p
    const Tensor piece({1, n / p}), whole({n});
    const std::vector<int64_t> extents(p, n / p);
    time("allgather", n, [&] { dist::allgather_concat(world, piece, 1, extents); });
    time("reduce_scatter", n, [&] { dist::reduce_scatter(world, whole, extents); });
    const std::vector<Tensor> send(p, Tensor({n / p}));
    time("alltoall", n, [&] { dist::alltoall(world, send); });
    time("allreduce", n, [&] { dist::allreduce(world, whole); });
  }
  if (world.rank() == 0) std::printf("\n ]}\n");
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: scaling compute [--image-size=S (a multiple of 32)] [--batch=N]\n"
               "       mpiexec -n P scaling comm\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  if (argc < 2) return usage();
  if (std::strcmp(argv[1], "comm") == 0) {
    if (argc != 2) return usage();
    const dist::Communicator world = dist::Communicator::world();
    if (world.size() < 2) {
      std::fprintf(stderr, "scaling comm: needs 2 or more ranks (mpiexec -n P), got 1\n");
      return 2;
    }
    return comm(world);
  }
  if (std::strcmp(argv[1], "compute") != 0) return usage();
  int64_t image = 32, batch = 64;
  for (int i = 2; i < argc; ++i) {
    const bool is_image = std::strncmp(argv[i], "--image-size=", 13) == 0;
    if (!is_image && std::strncmp(argv[i], "--batch=", 8) != 0) return usage();
    char* end = nullptr;
    const long v = std::strtol(std::strchr(argv[i], '=') + 1, &end, 10);
    if (*end != 0 || v < 1 || v > 4096 || (is_image && v % 32 != 0)) return usage();
    (is_image ? image : batch) = v;
  }
  return compute(image, batch);
}

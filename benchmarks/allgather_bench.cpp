// allgather_bench: the gathers of the channel-parallel convolution against a raw
// MPI_Allgatherv of the same bytes, on VGG16's convolution outputs at batch 64 (each rank holds
// its slice of K output channels, as ParallelConvolution2D's partition gives it).
//
//   mpiexec -n 2 build/benchmarks/allgather_bench
//
// Names: allgather/<raw|raw_concat|prism|prism_concat>/K<k>_HW<hw>_N64.
//   raw           MPI_Allgatherv into a buffer allocated once, counts computed once;
//   raw_concat    the same, then one copy into the [N, K, H, W] layout (the other way to build
//                 the layer's output);
//   prism         dist::allgather: the pieces as views of one buffer (shape exchange and
//                 allocation included);
//   prism_concat  dist::allgather_concat(..., 1) with the partition's extents: the layer's
//                 [N, K, H, W] result, assembled by the gather itself.
// Every iteration starts at a barrier and counts the slowest rank's time. A console run ends
// with each variant's time over raw's (medians when --benchmark_repetitions is given).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "dist/collectives.hpp"
#include "dist/functions.hpp"
#include "dist/mpi_comm.hpp"
#include "mpi_bench.hpp"
#include "nn/parallel_convolution_2d.hpp"

namespace {

using namespace prism;

struct Layer {
  int64_t k, hw;
};
constexpr Layer kLayers[] = {{64, 32}, {128, 16}, {256, 8}, {512, 4}, {512, 2}};
constexpr int64_t kBatch = 64;
const char* const kImpls[] = {"raw", "raw_concat", "prism", "prism_concat"};

// name -> mean seconds per iteration of each repetition; the summary takes their median.
std::map<std::string, std::vector<double>> g_seconds;

double median_seconds(const std::string& name) {
  std::vector<double> v = g_seconds[name];
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string bench_name(const char* impl, const Layer& l) {
  return std::string("allgather/") + impl + "/K" + std::to_string(l.k) + "_HW" +
         std::to_string(l.hw) + "_N" + std::to_string(kBatch);
}

void bm_gather(benchmark::State& state, const dist::Communicator& comm, int impl, Layer l) {
  const int p = comm.size();
  auto channels = [&](int r) { return nn::ParallelConvolution2D::channel_count(l.k, p, r); };
  Tensor x({kBatch, channels(comm.rank()), l.hw, l.hw});
  Rng(1).fill_uniform(x, -1.0f, 1.0f);
  std::vector<int> counts(p), displs(p);
  for (int r = 0; r < p; ++r) {
    counts[r] = static_cast<int>(kBatch * channels(r) * l.hw * l.hw);
    displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
  }
  std::vector<int64_t> extents;  // as ParallelConvolution2D knows them
  for (int r = 0; r < p; ++r)
    extents.push_back(channels(r));
  Tensor raw_out({kBatch, l.k, l.hw, l.hw}), assembled(raw_out.shape());
  const int64_t plane = l.hw * l.hw;
  // Rank-major pieces [N, K_r, H, W] into [N, K, H, W]: per image, each rank's block of planes.
  auto assemble = [&] {
    for (int64_t n = 0; n < kBatch; ++n)
      for (int r = 0, k0 = 0; r < p; k0 += channels(r), ++r)
        std::copy_n(raw_out.data() + displs[r] + n * channels(r) * plane, channels(r) * plane,
                    assembled.data() + (n * l.k + k0) * plane);
  };
  double total = 0;
  for (auto _ : state) {
    MPI_Barrier(dist::mpi_comm(comm));
    const auto t0 = std::chrono::steady_clock::now();
    if (impl <= 1)
      MPI_Allgatherv(x.data(), counts[comm.rank()], MPI_FLOAT, raw_out.data(), counts.data(),
                     displs.data(), MPI_FLOAT, dist::mpi_comm(comm));
    if (impl == 1) assemble();
    if (impl == 2) benchmark::DoNotOptimize(dist::functions::allgather(comm, Variable(x)));
    if (impl == 3)
      benchmark::DoNotOptimize(
          dist::functions::allgather_concat(comm, Variable(x), 1, dist::GradRule::exact, extents));
    double mine = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
           slowest = 0;
    MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, dist::mpi_comm(comm));
    state.SetIterationTime(slowest);
    total += slowest;
  }
  g_seconds[bench_name(kImpls[impl], l)].push_back(total / double(state.iterations()));
  state.counters["ranks"] = p;
  state.counters["MB"] = double(raw_out.numel()) * 4 / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const dist::Communicator comm = dist::Communicator::world();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Interleaved by shape, so the ratios compare neighbours in time.
  for (const Layer& l : kLayers)
    for (int impl = 0; impl < 4; ++impl)
      benchmark::RegisterBenchmark(bench_name(kImpls[impl], l).c_str(), bm_gather, comm, impl, l)
          ->Unit(benchmark::kMicrosecond)
          ->UseManualTime()
          ->Iterations(l.hw >= 16 ? 100 : 400);
  bench::run_on_every_rank(comm);
  if (comm.rank() == 0) {
    std::printf("\nTime over raw MPI_Allgatherv (%d ranks):\n%-12s %11s %8s %14s\n", comm.size(),
                "shape", "raw_concat", "prism", "prism_concat");
    for (const Layer& l : kLayers) {
      const double raw = median_seconds(bench_name("raw", l));
      std::printf("K%-4lld HW%-3lld %11.3f %8.3f %14.3f\n", static_cast<long long>(l.k),
                  static_cast<long long>(l.hw), median_seconds(bench_name("raw_concat", l)) / raw,
                  median_seconds(bench_name("prism", l)) / raw,
                  median_seconds(bench_name("prism_concat", l)) / raw);
    }
  }
  benchmark::Shutdown();
  return 0;
}

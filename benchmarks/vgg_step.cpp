// vgg_step: one training step of the seed's VGG16 (3-channel 32x32 inputs, 10 classes, batch 64 per
// rank): forward, softmax cross entropy, backward and a MomentumSGD update (lr 0.01, no weight
// decay, as benchmarks/torch_reference.py runs it). Under mpiexec -n P the convolutions are
// channel-parallel over the P ranks; rank 0 reports. Every rank runs the same fixed number of
// iterations, so the collectives line up.
//
//   vgg_step [--benchmark_repetitions=3]          # one process
//   mpiexec -n 2 vgg_step                          # 2 ranks
//   vgg_step --profile                             # the profiler's table of 5 steps instead
//   mpiexec -n 2 vgg_step --layout=gathered        # the seed's dataflow (default: sharded)
//   mpiexec -n 2 vgg_step --partition=filter       # the ordinary VGG16 split (default: seed)
//   vgg_step --batch=16 --image-size=128           # batch per rank (64), image side (32)
//   mpiexec -n 2 vgg_step --chunks=1               # sharded: chunks of the batch per exchange
//   mpiexec -n 2 vgg_step --split-waits            # comm_ms without the wait for a slower rank
//   mpiexec -n 2 vgg_step --model-parallel=1       # data parallel: model groups of 1 rank
//   mpiexec -n 4 vgg_step --model-parallel=2       # a grid: 2 data-parallel groups of 2 ranks
//
// One untimed step comes first (it fills the allocator's cache, as any run's first step does).
// Counters: median_ms, the median of the timed steps (the statistic torch_reference.py reports;
// the benchmark's own time is their mean); images_per_s; conv_gflop, the nominal convolution
// GFLOP of one step (as the
// profiler counts them) and pct_peak, their rate against the FMA peak of one core measured at
// start, times the thread count; faults_per_step, the minor page faults of a timed step;
// peak_rss_mb, the process's peak resident memory; under MPI, mb_sent and mb_received, the
// tensor bytes a step's collectives moved to and from other ranks, and comm_ms and comm_pct,
// the time a step spent inside them, waiting and packing included: the exposed communication
// (a chunk's exchange in flight behind a convolution is not counted), the mean over ranks.
// --split-waits puts a barrier before each channel exchange and counts its time apart as
// imbalance_ms and imbalance_pct (dist::set_split_waits): comm_ms is then the exchanges' copies
// and transfer, plus the few other collectives (the loss, the head's gradients) with their
// waits. The other counters are rank 0's.
// --model-parallel=M (a divisor of the rank count; default all of them) makes a data x model
// grid (dist::Grid): every model group of M ranks runs its own batch (so the global batch is
// --batch times the groups), with optim::DataParallel and synchronized BN over the data groups.
// comm_ms then includes what the gradient allreduce left exposed, and allreduce_ms is the time
// of one blocking allreduce of all the gradients over a data group, measured before the steps:
// what the step would spend without overlap.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <numeric>
#include <string>

#include "core/allocator.hpp"
#include "core/isa.hpp"
#include "core/parallel.hpp"
#include "core/profiler.hpp"
#include "core/rng.hpp"
#include "dist/collectives.hpp"
#include "dist/communicator.hpp"
#include "dist/grid.hpp"
#include "fma_peak.hpp"
#include "mpi_bench.hpp"
#include "nn/classifier.hpp"
#include "nn/parallel_convolution_2d.hpp"
#include "nn/replicated.hpp"
#include "nn/vgg16.hpp"
#include "optim/data_parallel.hpp"
#include "optim/momentum_sgd.hpp"
#include "step_bench.hpp"

namespace {

using namespace prism;

int64_t g_batch = 64, g_image = 32, g_chunks = 0;  // --batch=, --image-size=, --chunks=
int64_t g_model_parallel = 0;                      // --model-parallel=; 0: every rank
bool g_split_waits = false;                        // --split-waits
constexpr int kProfiledSteps = 5;
nn::Layout g_layout = nn::Layout::sharded;
nn::Partition g_partition = nn::Partition::seed;

// The model, its data and one step, as train_vgg runs it.
struct Step {
  dist::Grid grid;
  Tensor x;
  Labels t;
  nn::Classifier model;
  optim::MomentumSGD optimizer;
  std::unique_ptr<optim::DataParallel> data_parallel;  // with more than one model group

  explicit Step(const dist::Communicator& world)
      : grid(world, g_model_parallel == 0 ? world.size() : static_cast<int>(g_model_parallel)),
        x({g_batch, 3, g_image, g_image}),
        t(g_batch),
        model(std::make_shared<nn::VGG16>(grid.model, 3, 10, g_layout, g_image, g_partition,
                                          grid.data)),
        optimizer(model.named_parameters(), 0.01f) {
    Rng rng(7 + static_cast<uint64_t>(grid.data.rank()));  // each group its own batch
    rng.fill_uniform(x, -1.0f, 1.0f);
    for (int64_t i = 0; i < g_batch; ++i)
      t[i] = static_cast<int32_t>(rng.below(10));
    nn::broadcast_replicated(grid.model, model);
    if (grid.data.size() > 1)
      data_parallel = std::make_unique<optim::DataParallel>(grid.data, optimizer);
    if (g_chunks > 0) set_chunks(model);
  }
  static void set_chunks(nn::Module& m) {
    if (auto* conv = dynamic_cast<nn::ParallelConvolution2D*>(&m)) conv->set_chunks(g_chunks);
    for (const auto& child : m.children())
      set_chunks(*child);
  }
  void run() {
    model.zero_grad();
    model(Variable(x), t).backward();
    optimizer.update();
  }
};

using bench::usage;
using bench::Usage;

double g_peak_gflops = 0;  // one core's FMA peak, measured at start

// The median of 3 blocking allreduces of as many floats as the step's gradients, over a data
// group: what the gradient averaging costs where nothing overlaps it.
double blocking_allreduce_ms(const Step& step) {
  int64_t floats = 0;
  for (const auto& [name, p] : step.optimizer.named_parameters())
    floats += p.data().numel();
  Tensor g(Shape{floats});
  std::vector<double> ms;
  for (int i = 0; i < 3; ++i) {
    step.grid.data.barrier();
    const auto start = std::chrono::steady_clock::now();
    dist::allreduce(step.grid.data, g);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[1];
}

void bm_vgg_step(benchmark::State& state, const dist::Communicator& comm) {
  Step step(comm);
  const double flops = bench::conv_flops_of([&] { step.run(); });  // also the untimed first step
  if (step.grid.data.size() > 1) state.counters["allreduce_ms"] = blocking_allreduce_ms(step);
  const Usage before = usage();
  const dist::Traffic moved_before = dist::traffic();
  const auto start = std::chrono::steady_clock::now();
  state.counters["median_ms"] = bench::run_steps_median_ms(state, [&] { step.run(); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const dist::Traffic moved = dist::traffic();
  const Usage after = usage();
  const double steps = double(state.iterations());
  if (comm.size() > 1) {
    state.counters["mb_sent"] = double(moved.bytes_sent - moved_before.bytes_sent) / 1e6 / steps;
    state.counters["mb_received"] =
        double(moved.bytes_received - moved_before.bytes_received) / 1e6 / steps;
    // Which rank waits changes from run to run: the mean over ranks, not rank 0's.
    auto mean_over_ranks = [&](double mine) {
      const std::vector<double> all = dist::allgather_values(comm, std::vector<double>{mine});
      return std::accumulate(all.begin(), all.end(), 0.0) / double(all.size());
    };
    const double in_mpi = mean_over_ranks(moved.seconds - moved_before.seconds);
    state.counters["comm_ms"] = in_mpi * 1e3 / steps;
    state.counters["comm_pct"] = in_mpi / seconds * 100;
    if (g_split_waits) {
      const double waited =
          mean_over_ranks(moved.imbalance_seconds - moved_before.imbalance_seconds);
      state.counters["imbalance_ms"] = waited * 1e3 / steps;
      state.counters["imbalance_pct"] = waited / seconds * 100;
    }
  }
  state.counters["ranks"] = comm.size();
  state.counters["model_groups"] = step.grid.data.size();
  state.counters["images_per_s"] =
      benchmark::Counter(double(g_batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["conv_gflop"] = flops / 1e9;
  if (g_peak_gflops > 0)  // no AVX2, no peak measured
    state.counters["pct_peak"] =
        benchmark::Counter(flops / 1e9 / (g_peak_gflops * num_threads()) * 100,
                           benchmark::Counter::kIsIterationInvariantRate);
  state.counters["faults_per_step"] = double(after.minor_faults - before.minor_faults) / steps;
  state.counters["peak_rss_mb"] = double(after.peak_rss_kb) / 1024;
}

// --profile: the profiler's table over kProfiledSteps steps after the untimed one.
int profile_steps(const dist::Communicator& comm) {
  Step step(comm);
  step.run();
  const Usage before = usage();
  memory::reset_peak();
  profile::enable(true);
  for (int i = 0; i < kProfiledSteps; ++i)
    step.run();
  const std::string table = profile::report(kProfiledSteps);
  profile::enable(false);
  const Usage after = usage();
  if (comm.rank() == 0)
    std::cout << "vgg_step --profile: batch " << g_batch << ", " << comm.size() << " rank(s), "
              << (g_layout == nn::Layout::sharded ? "sharded" : "gathered") << " layout, "
              << (g_partition == nn::Partition::seed ? "seed" : "filter") << " partition, "
              << num_threads() << " thread(s), " << isa_name(active_isa()) << " kernels\n"
              << table << "minor page faults per step: "
              << double(after.minor_faults - before.minor_faults) / kProfiledSteps
              << "\npeak RSS: " << double(after.peak_rss_kb) / 1024 << " MB\n"
              << "tensors and scratch at their peak: "
              << double(memory::stats().peak_in_use_bytes) / 1e6
              << " MB; the allocator's cache now: " << double(memory::stats().cached_bytes) / 1e6
              << " MB\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  const dist::Communicator comm = dist::Communicator::world();
  bool profile = false;
  int kept = 1;  // our flags out of argv, for Google Benchmark
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--profile") == 0) {
      profile = true;
    } else if (std::strcmp(argv[i], "--split-waits") == 0) {
      g_split_waits = true;
      dist::set_split_waits(true);
    } else if (std::strcmp(argv[i], "--layout=sharded") == 0) {
      g_layout = nn::Layout::sharded;
    } else if (std::strcmp(argv[i], "--layout=gathered") == 0) {
      g_layout = nn::Layout::gathered;
    } else if (std::strcmp(argv[i], "--partition=seed") == 0) {
      g_partition = nn::Partition::seed;
    } else if (std::strcmp(argv[i], "--partition=filter") == 0) {
      g_partition = nn::Partition::filter;
    } else if (std::strncmp(argv[i], "--partition", 11) == 0) {
      if (comm.rank() == 0)
        std::cerr << "vgg_step: --partition is seed or filter, got " << argv[i] << "\n";
      return 2;
    } else if (std::strncmp(argv[i], "--batch=", 8) == 0 ||
               std::strncmp(argv[i], "--chunks=", 9) == 0 ||
               std::strncmp(argv[i], "--image-size=", 13) == 0 ||
               std::strncmp(argv[i], "--model-parallel=", 17) == 0) {
      const char flag = argv[i][2];  // b, c, i or m
      char* end = nullptr;
      const long v = std::strtol(std::strchr(argv[i], '=') + 1, &end, 10);
      if (*end != 0 || v < 1 || v > (flag == 'i' ? 4096 : 65536) || (flag == 'i' && v % 32 != 0) ||
          (flag == 'm' && comm.size() % v != 0)) {
        if (comm.rank() == 0)
          std::cerr << "vgg_step: "
                    << (flag == 'b'   ? "--batch is 1..65536"
                        : flag == 'c' ? "--chunks is 1..65536"
                        : flag == 'i' ? "--image-size is a multiple of 32 up to 4096"
                                      : "--model-parallel divides the rank count")
                    << ", got " << argv[i] << "\n";
        return 2;
      }
      (flag == 'b'   ? g_batch
       : flag == 'c' ? g_chunks
       : flag == 'i' ? g_image
                     : g_model_parallel) = v;
    } else if (std::strncmp(argv[i], "--layout", 8) == 0) {
      if (comm.rank() == 0)
        std::cerr << "vgg_step: --layout is sharded or gathered, got " << argv[i] << "\n";
      return 2;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (profile) return profile_steps(comm);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const Isa isa = detected_isa();
  g_peak_gflops = isa >= Isa::avx2 ? bench::fma_peak_gflops(isa) : 0;
  benchmark::AddCustomContext("fma_peak_gflops", std::to_string(g_peak_gflops));
  benchmark::AddCustomContext("layout", g_layout == nn::Layout::sharded ? "sharded" : "gathered");
  benchmark::AddCustomContext("partition", g_partition == nn::Partition::seed ? "seed" : "filter");
  std::string name = "vgg16/train_step/N" + std::to_string(g_batch);
  if (g_image != 32) name += "/HW" + std::to_string(g_image);
  benchmark::RegisterBenchmark(name.c_str(), bm_vgg_step, comm)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(5);
  bench::run_on_every_rank(comm);
  benchmark::Shutdown();
  return 0;
}

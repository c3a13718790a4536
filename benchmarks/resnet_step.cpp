// resnet_step: one training step of ResNet-20 (nn::ResNet, 3-channel 32x32 inputs, 10 classes,
// batch 64): forward, softmax cross entropy, backward and a MomentumSGD update (lr 0.01, no
// weight decay), as benchmarks/torch_reference.py --model resnet20 runs it. One process; the
// threads are OMP_NUM_THREADS.
//
//   resnet_step [--benchmark_repetitions=3]
//   resnet_step --depth=56 --batch=128       # ResNet-56 (depth 6 n + 2), batch 128
//   resnet_step --profile                    # the profiler's table of 5 steps instead
//
// One untimed step comes first. Counters as vgg_step's: median_ms (the median step, as
// torch_reference.py reports its own), images_per_s, conv_gflop (nominal
// convolution GFLOP of a step), pct_peak (against one core's FMA peak measured at start, times
// the threads), faults_per_step, peak_rss_mb.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "core/isa.hpp"
#include "core/parallel.hpp"
#include "core/profiler.hpp"
#include "core/rng.hpp"
#include "fma_peak.hpp"
#include "nn/classifier.hpp"
#include "nn/resnet.hpp"
#include "optim/momentum_sgd.hpp"
#include "step_bench.hpp"

namespace {

using namespace prism;

int64_t g_depth = 20, g_batch = 64;  // --depth=, --batch=
double g_peak_gflops = 0;            // one core's FMA peak, measured at start
constexpr int kProfiledSteps = 5;

struct Step {
  Tensor x{{g_batch, 3, 32, 32}};
  Labels t = Labels(g_batch);
  nn::Classifier model{std::make_shared<nn::ResNet>(g_depth)};
  optim::MomentumSGD optimizer{model.named_parameters(), 0.01f};

  Step() {
    Rng rng(7);
    rng.fill_uniform(x, -1.0f, 1.0f);
    for (int64_t i = 0; i < g_batch; ++i)
      t[i] = static_cast<int32_t>(rng.below(10));
  }
  void run() {
    model.zero_grad();
    model(Variable(x), t).backward();
    optimizer.update();
  }
};

void bm_resnet_step(benchmark::State& state) {
  Step step;
  const double flops = bench::conv_flops_of([&] { step.run(); });  // also the untimed step
  const bench::Usage before = bench::usage();
  state.counters["median_ms"] = bench::run_steps_median_ms(state, [&] { step.run(); });
  const bench::Usage after = bench::usage();
  state.counters["images_per_s"] =
      benchmark::Counter(double(g_batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["conv_gflop"] = flops / 1e9;
  if (g_peak_gflops > 0)
    state.counters["pct_peak"] =
        benchmark::Counter(flops / 1e9 / (g_peak_gflops * num_threads()) * 100,
                           benchmark::Counter::kIsIterationInvariantRate);
  state.counters["faults_per_step"] =
      double(after.minor_faults - before.minor_faults) / double(state.iterations());
  state.counters["peak_rss_mb"] = double(after.peak_rss_kb) / 1024;
}

int profile_steps() {
  Step step;
  step.run();
  profile::enable(true);
  for (int i = 0; i < kProfiledSteps; ++i)
    step.run();
  std::cout << "resnet_step --profile: ResNet-" << g_depth << ", batch " << g_batch << ", "
            << num_threads() << " thread(s), " << isa_name(active_isa()) << " kernels\n"
            << profile::report(kProfiledSteps);
  profile::enable(false);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool profile = false;
  int kept = 1;  // our flags out of argv, for Google Benchmark
  for (int i = 1; i < argc; ++i) {
    const bool depth = std::strncmp(argv[i], "--depth=", 8) == 0;
    if (std::strcmp(argv[i], "--profile") == 0) {
      profile = true;
    } else if (depth || std::strncmp(argv[i], "--batch=", 8) == 0) {
      char* end = nullptr;
      const long v = std::strtol(argv[i] + 8, &end, 10);
      if (*end != 0 || v < 1 || v > 65536 || (depth && (v < 8 || (v - 2) % 6 != 0))) {
        std::cerr << "resnet_step: "
                  << (depth ? "--depth is 6 n + 2 (20, 32, 56, ...)" : "--batch is 1..65536")
                  << ", got " << argv[i] << "\n";
        return 2;
      }
      (depth ? g_depth : g_batch) = v;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (profile) return profile_steps();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const Isa isa = detected_isa();
  g_peak_gflops = isa >= Isa::avx2 ? bench::fma_peak_gflops(isa) : 0;
  benchmark::AddCustomContext("fma_peak_gflops", std::to_string(g_peak_gflops));
  const std::string name =
      "resnet" + std::to_string(g_depth) + "/train_step/N" + std::to_string(g_batch);
  benchmark::RegisterBenchmark(name.c_str(), bm_resnet_step)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(10);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

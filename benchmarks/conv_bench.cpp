// conv_bench: prism's convolution kernels on the 9 convolution shapes of VGG16 for 32x32
// inputs (batch 64, 3x3, pad 1, stride 1), and oneDNN on the same shapes when it was found at
// configure time, so one run shows the ratios.
//
// Names: conv/<fwd|bwd_data|bwd_weights>/<avx512|avx2|onednn|onednn_nchw>/C<c>_K<k>_HW<hw>_N64.
// Counters: GFLOPS (nominal 2*N*K*C*9*H*W per pass, padding taps included) and pct_peak
// (against the FMA peak measured at start: AVX-512's for avx512 and oneDNN, AVX2's for avx2).
// prism's times include everything the op does: planning, packing weights and data, and
// writing NCHW. "onednn" runs oneDNN's preferred layouts and counts its reorders of the NCHW
// inputs (counter reorder_ms); "onednn_nchw" gives oneDNN plain NCHW tensors.
//
// After a console run it prints the totals over the 9 shapes (the medians when
// --benchmark_repetitions is given) and the ratios to oneDNN.
//
// --threads=1,2 runs every benchmark at each of those OpenMP thread counts in the same program
// (names end in /threads_<n>), and the summary adds each shape's speed-up over the first count.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/isa.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "fma_peak.hpp"
#include "ops/kernels/conv2d_kernels.hpp"

#ifdef PRISM_HAVE_DNNL
#include <dnnl.hpp>
#endif

namespace {

using namespace prism;

struct Layer {
  int64_t c, k, hw;
};
constexpr Layer kLayers[] = {{3, 64, 32},    {64, 64, 32},  {64, 128, 16},
                             {128, 128, 16}, {128, 256, 8}, {256, 256, 8},
                             {256, 512, 4},  {512, 512, 4}, {512, 512, 2}};
constexpr int64_t kBatch = 64;
const char* const kDirs[] = {"fwd", "bwd_data", "bwd_weights"};

double g_peak[3] = {0, 0, 0};  // GFLOP/s by Isa

double nominal_flops(const Layer& l) {
  return 2.0 * kBatch * l.k * l.c * 9 * l.hw * l.hw;
}

// threads 0: the process's thread count, and no suffix.
std::string bench_name(int dir, const char* impl, const Layer& l, int threads) {
  char name[112];
  std::snprintf(name, sizeof name, "conv/%s/%s/C%lld_K%lld_HW%lld_N%lld", kDirs[dir], impl,
                static_cast<long long>(l.c), static_cast<long long>(l.k),
                static_cast<long long>(l.hw), static_cast<long long>(kBatch));
  std::string s = name;
  return threads > 0 ? s + "/threads_" + std::to_string(threads) : s;
}

// Parses and removes --threads=a,b,... from argv (Google Benchmark rejects flags it does not
// know). Empty when absent.
std::vector<int> take_threads_flag(int& argc, char** argv) {
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) != 0) continue;
    for (const char* p = argv[i] + 10; *p;) {
      char* end = nullptr;
      const long n = std::strtol(p, &end, 10);
      if (end == p || n < 1 || n > 1024 || (*end != ',' && *end != 0)) {
        std::fprintf(stderr, "conv_bench: --threads wants a list like 1,2 (each 1..1024), got %s\n",
                     argv[i] + 10);
        std::exit(2);
      }
      counts.push_back(int(n));
      p = *end ? end + 1 : end;
    }
    std::copy(argv + i + 1, argv + argc, argv + i);
    --argc, --i;
  }
  return counts;
}

// Times the body of a benchmark loop by hand, so the counters can be plain numbers.
struct Stopwatch {
  double seconds = 0;
  template <class F>
  void time(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
};

void set_counters(benchmark::State& state, const Layer& l, double seconds, double peak) {
  const double gflops = nominal_flops(l) * double(state.iterations()) / seconds / 1e9;
  state.counters["GFLOPS"] = gflops;
  state.counters["pct_peak"] = gflops / peak * 100;
}

Tensor random_tensor(Shape shape, Rng& rng) {
  Tensor t(std::move(shape));
  rng.fill_uniform(t, -1.0f, 1.0f);
  return t;
}

void bm_prism(benchmark::State& state, Isa isa, int dir, Layer l, int threads) {
  set_active_isa(isa);
  if (threads > 0) set_num_threads(threads);
  const kernels::ConvShape s =
      kernels::make_conv_shape(kBatch, l.c, l.hw, l.hw, l.k, 3, 3, 1, 1, 1, 1);
  Rng rng(1);
  Tensor x = random_tensor({kBatch, l.c, l.hw, l.hw}, rng),
         w = random_tensor({l.k, l.c, 3, 3}, rng);
  Tensor dy = random_tensor({kBatch, l.k, l.hw, l.hw}, rng);
  Tensor y(dy.shape()), dx(x.shape()), dw(w.shape());
  Stopwatch all;
  for (auto _ : state) {
    all.time([&] {
      if (dir == 0) kernels::conv2d_forward(s, x.data(), w.data(), nullptr, y.data());
      if (dir == 1) kernels::conv2d_backward_data(s, dy.data(), w.data(), dx.data());
      if (dir == 2) kernels::conv2d_backward_weights(s, x.data(), dy.data(), dw.data());
    });
    benchmark::ClobberMemory();
  }
  set_counters(state, l, all.seconds, g_peak[int(isa)]);
}

#ifdef PRISM_HAVE_DNNL
void bm_onednn(benchmark::State& state, bool plain, int dir, Layer l, int threads) {
  using namespace dnnl;
  if (threads > 0) set_num_threads(threads);
  using tag = memory::format_tag;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::dims src{kBatch, l.c, l.hw, l.hw}, wei{l.k, l.c, 3, 3},
      dst{kBatch, l.k, l.hw, l.hw}, strides{1, 1}, pad{1, 1};
  const tag t = plain ? tag::nchw : tag::any, tw = plain ? tag::oihw : tag::any;
  const memory::desc sd(src, memory::data_type::f32, t), wd(wei, memory::data_type::f32, tw),
      dd(dst, memory::data_type::f32, t);
  const auto fpd = convolution_forward::primitive_desc(
      convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, sd, wd,
                                dd, strides, pad, pad),
      eng);
  // The user's tensors are NCHW / OIHW; an input in another layout is reordered every run.
  auto user = [&](const memory::dims& d, tag layout) {
    memory m({d, memory::data_type::f32, layout}, eng);
    float* p = static_cast<float*>(m.get_data_handle());
    Rng rng(1);
    for (size_t i = 0; i < m.get_desc().get_size() / sizeof(float); ++i)
      p[i] = rng.uniform(-1.0f, 1.0f);
    return m;
  };
  struct Input {
    memory from, to;
    bool reorder;
  };
  auto input = [&](const memory::dims& d, tag layout, const memory::desc& want) {
    memory u = user(d, layout);
    if (u.get_desc() == want) return Input{u, u, false};
    return Input{u, memory(want, eng), true};
  };
  std::vector<Input> inputs;
  std::unordered_map<int, memory> args;
  primitive prim;
  if (dir == 0) {
    inputs = {input(src, tag::nchw, fpd.src_desc()), input(wei, tag::oihw, fpd.weights_desc())};
    args = {{DNNL_ARG_SRC, inputs[0].to},
            {DNNL_ARG_WEIGHTS, inputs[1].to},
            {DNNL_ARG_DST, memory(fpd.dst_desc(), eng)}};
    prim = convolution_forward(fpd);
  } else if (dir == 1) {
    const auto pd = convolution_backward_data::primitive_desc(
        convolution_backward_data::desc(algorithm::convolution_direct, sd, wd, dd, strides, pad,
                                        pad),
        eng, fpd);
    inputs = {input(dst, tag::nchw, pd.diff_dst_desc()), input(wei, tag::oihw, pd.weights_desc())};
    args = {{DNNL_ARG_DIFF_DST, inputs[0].to},
            {DNNL_ARG_WEIGHTS, inputs[1].to},
            {DNNL_ARG_DIFF_SRC, memory(pd.diff_src_desc(), eng)}};
    prim = convolution_backward_data(pd);
  } else {
    const auto pd = convolution_backward_weights::primitive_desc(
        convolution_backward_weights::desc(algorithm::convolution_direct, sd, wd, dd, strides, pad,
                                           pad),
        eng, fpd);
    inputs = {input(src, tag::nchw, pd.src_desc()), input(dst, tag::nchw, pd.diff_dst_desc())};
    args = {{DNNL_ARG_SRC, inputs[0].to},
            {DNNL_ARG_DIFF_DST, inputs[1].to},
            {DNNL_ARG_DIFF_WEIGHTS, memory(pd.diff_weights_desc(), eng)}};
    prim = convolution_backward_weights(pd);
  }
  Stopwatch reorders, all;
  for (auto _ : state)
    all.time([&] {
      reorders.time([&] {
        for (Input& in : inputs)
          if (in.reorder) reorder(in.from, in.to).execute(strm, in.from, in.to);
        strm.wait();
      });
      prim.execute(strm, args);
      strm.wait();
    });
  set_counters(state, l, all.seconds, g_peak[int(detected_isa())]);
  state.counters["reorder_ms"] = 1e3 * reorders.seconds / double(state.iterations());
}
#endif

// Keeps each benchmark's time (ms) for the summary, medians over plain runs.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type == Run::RT_Iteration && !medians_.count(r.run_name.function_name))
        times_[r.run_name.function_name] = r.GetAdjustedRealTime();
      if (median) medians_[r.run_name.function_name] = r.GetAdjustedRealTime();
    }
  }
  double ms(const std::string& name) const {
    if (auto it = medians_.find(name); it != medians_.end()) return it->second;
    auto it = times_.find(name);
    return it == times_.end() ? -1 : it->second;
  }
  // threads: the counts run (0 alone when --threads was not given).
  void print_summary(const std::vector<int>& threads) const {
    for (int n : threads)
      print_totals(n);
    if (threads.size() < 2) return;
    std::printf("\nSpeed-up of avx512 at %d threads over %d (fwd, bwd_data, bwd_weights):\n",
                threads.back(), threads.front());
    for (const Layer& l : kLayers) {
      std::printf("C%-4lld K%-4lld HW%-3lld", static_cast<long long>(l.c),
                  static_cast<long long>(l.k), static_cast<long long>(l.hw));
      for (int d = 0; d < 3; ++d) {
        const double a = ms(bench_name(d, "avx512", l, threads.front())),
                     b = ms(bench_name(d, "avx512", l, threads.back()));
        if (a > 0 && b > 0) std::printf(" %6.2f", a / b);
      }
      std::printf("\n");
    }
  }

 private:
  void print_totals(int threads) const {
    const int shown = threads > 0 ? threads : num_threads();
    std::printf("\nTotals over the 9 shapes (ms; %d thread%s):\n", shown, shown == 1 ? "" : "s");
    std::printf("%-16s %10s %10s %12s %10s\n", "impl", "fwd", "bwd_data", "bwd_weights", "sum");
    std::map<std::string, double> sums;
    for (const char* impl : {"avx512", "avx2", "onednn", "onednn_nchw"}) {
      double dir_ms[3] = {0, 0, 0};
      bool complete = true;
      for (int d = 0; d < 3; ++d)
        for (const Layer& l : kLayers) {
          const double t = ms(bench_name(d, impl, l, threads));
          complete = complete && t >= 0;
          dir_ms[d] += t;
        }
      if (!complete) continue;
      sums[impl] = dir_ms[0] + dir_ms[1] + dir_ms[2];
      std::printf("%-16s %10.1f %10.1f %12.1f %10.1f\n", impl, dir_ms[0], dir_ms[1], dir_ms[2],
                  sums[impl]);
    }
    for (const char* ours : {"avx512", "avx2"})
      for (const char* theirs : {"onednn", "onednn_nchw"})
        if (sums.count(ours) && sums.count(theirs))
          std::printf("%s / %s: %.3f\n", ours, theirs, sums[ours] / sums[theirs]);
  }

  std::map<std::string, double> times_, medians_;
};

}  // namespace

int main(int argc, char** argv) {
  bool console = true;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_format=", 19) == 0 &&
        std::strcmp(argv[i] + 19, "console") != 0)
      console = false;
  std::vector<int> threads = take_threads_flag(argc, argv);
  if (threads.empty()) threads = {0};
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<Isa> isas;
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (isa <= detected_isa()) {
      isas.push_back(isa);
      g_peak[int(isa)] = bench::fma_peak_gflops(isa);
      benchmark::AddCustomContext(std::string("fma_peak_") + isa_name(isa) + "_gflops",
                                  std::to_string(g_peak[int(isa)]));
    }
  if (threads.front() == 0) benchmark::AddCustomContext("threads", std::to_string(num_threads()));
  for (int n : threads)
    for (int d = 0; d < 3; ++d) {
      for (Isa isa : isas)
        for (const Layer& l : kLayers)
          benchmark::RegisterBenchmark(bench_name(d, isa_name(isa), l, n).c_str(), bm_prism, isa, d,
                                       l, n)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
#ifdef PRISM_HAVE_DNNL
      for (bool plain : {false, true})
        for (const Layer& l : kLayers)
          benchmark::RegisterBenchmark(
              bench_name(d, plain ? "onednn_nchw" : "onednn", l, n).c_str(), bm_onednn, plain, d, l,
              n)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
#endif
    }
  if (!console) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary(threads);
  }
  benchmark::Shutdown();
  return 0;
}

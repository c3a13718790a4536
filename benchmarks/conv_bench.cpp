// conv_bench: prism's convolution kernels, and oneDNN's when it was found at configure time, so
// one run shows the ratios, on two sets of shapes (--shapes=vgg,other picks them; both by
// default):
//   vgg:   the 9 convolution shapes of VGG16 for 32x32 inputs (batch 64, 3x3, pad 1, stride 1);
//   other: shapes VGG16 lacks: channel counts that are not multiples of 16, odd sizes, 1x1 and
//          5x5 kernels, stride 2 (3x3, and 1x1 as in ResNet's shortcuts), and ResNet-20's
//          convolutions for 32x32 inputs.
//
// Names: conv/<fwd|bwd_data|bwd_weights>/<avx512|avx2|onednn|onednn_nchw>/<shape>, the shape
// C<c>_K<k>_HW<hw>_N<n> for vgg and C<c>_K<k>_HW<hw>_k<kernel>s<stride>p<pad>_N<n> for other
// (the vgg names predate the other set, and scripts read them).
// Counters: GFLOPS (nominal 2*N*K*C*kh*kw*Ho*Wo per pass, padding taps included) and pct_peak
// (against the FMA peak measured at start: AVX-512's for avx512 and oneDNN, AVX2's for avx2).
// prism's times include everything the op does: planning, packing weights and data, and
// writing NCHW. "onednn" runs oneDNN's preferred layouts and counts its reorders of the NCHW
// inputs (counter reorder_ms); "onednn_nchw" gives oneDNN plain NCHW tensors.
//
// With oneDNN, the program first checks that prism and both oneDNN variants compute the same
// three passes on one shape of each kind of the other set (a wrong stride or padding would
// otherwise time a different convolution); it exits 1 if they differ.
//
// After a console run it prints, for each set, the totals over its shapes (the medians when
// --benchmark_repetitions is given), the ratios to oneDNN, and each shape's ratio.
//
// --threads=1,2 runs every benchmark at each of those OpenMP thread counts in the same program
// (names end in /threads_<n>), and the summary adds each shape's speed-up over the first count.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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

// One convolution: c inputs, k outputs, an h x w input, a kh x kw kernel, the same stride and
// padding along both axes, n images.
struct Layer {
  int64_t c, k, h, w, kh, kw, stride, pad, n;

  kernels::ConvShape shape() const {
    return kernels::make_conv_shape(n, c, h, w, k, kh, kw, stride, stride, pad, pad);
  }
};

constexpr int64_t kBatch = 64;

// A square input and kernel.
constexpr Layer square(int64_t c, int64_t k, int64_t hw, int64_t kernel, int64_t stride,
                       int64_t pad, int64_t n = kBatch) {
  return {c, k, hw, hw, kernel, kernel, stride, pad, n};
}

struct ShapeSet {
  const char* name;  // for --shapes
  const char* title;
  bool vgg_names;  // C<c>_K<k>_HW<hw>_N<n>, without the kernel, which is always 3x3 s1 p1
  std::vector<Layer> layers;
};

const ShapeSet kSets[] = {
    {"vgg",
     "the 9 VGG16 shapes",
     true,
     {square(3, 64, 32, 3, 1, 1), square(64, 64, 32, 3, 1, 1), square(64, 128, 16, 3, 1, 1),
      square(128, 128, 16, 3, 1, 1), square(128, 256, 8, 3, 1, 1), square(256, 256, 8, 3, 1, 1),
      square(256, 512, 4, 3, 1, 1), square(512, 512, 4, 3, 1, 1), square(512, 512, 2, 3, 1, 1)}},
    // square(c, k, hw, kernel, stride, pad), all at batch 64: the slowest pass of any takes
    // well under 150 ms at 1 thread. The first shape of each kind is the one
    // check_against_onednn() checks: the odd ones come first, so that odd sizes and channel
    // counts are among those checked.
    {"other",
     "the 18 other shapes",
     false,
     {
         // 3x3, channels that are not multiples of 16, odd sizes
         square(40, 72, 17, 3, 1, 1),
         square(72, 100, 15, 3, 1, 1),
         square(100, 136, 9, 3, 1, 1),
         square(136, 200, 7, 3, 1, 1),
         // 1x1: a bottleneck's reduction and expansion
         square(200, 72, 9, 1, 1, 0),
         square(72, 200, 15, 1, 1, 0),
         // 5x5
         square(40, 72, 17, 5, 1, 2),
         square(72, 100, 9, 5, 1, 2),
         // stride 2 on an odd size: 3x3, and the 1x1 shortcut beside it
         square(72, 136, 17, 3, 2, 1),
         square(72, 136, 17, 1, 2, 0),
         // ResNet-20 on 32x32 inputs: the three stages, their stride-2 entries and shortcuts
         square(3, 16, 32, 3, 1, 1),
         square(16, 16, 32, 3, 1, 1),
         square(16, 32, 32, 3, 2, 1),
         square(32, 32, 16, 3, 1, 1),
         square(32, 64, 16, 3, 2, 1),
         square(64, 64, 8, 3, 1, 1),
         square(16, 32, 32, 1, 2, 0),
         square(32, 64, 16, 1, 2, 0),
     }},
};
const char* const kDirs[] = {"fwd", "bwd_data", "bwd_weights"};

double g_peak[3] = {0, 0, 0};  // GFLOP/s by Isa

double nominal_flops(const Layer& l) {
  const kernels::ConvShape s = l.shape();
  return 2.0 * s.n * s.k * s.c * s.kh * s.kw * s.ho * s.wo;
}

std::string shape_name(const ShapeSet& set, const Layer& l) {
  char hw[32], kernel[48] = "", name[160];
  if (l.h == l.w)
    std::snprintf(hw, sizeof hw, "HW%lld", static_cast<long long>(l.h));
  else
    std::snprintf(hw, sizeof hw, "H%lldW%lld", static_cast<long long>(l.h),
                  static_cast<long long>(l.w));
  if (!set.vgg_names && l.kh == l.kw)
    std::snprintf(kernel, sizeof kernel, "_k%llds%lldp%lld", static_cast<long long>(l.kh),
                  static_cast<long long>(l.stride), static_cast<long long>(l.pad));
  else if (!set.vgg_names)
    std::snprintf(kernel, sizeof kernel, "_k%lldx%llds%lldp%lld", static_cast<long long>(l.kh),
                  static_cast<long long>(l.kw), static_cast<long long>(l.stride),
                  static_cast<long long>(l.pad));
  std::snprintf(name, sizeof name, "C%lld_K%lld_%s%s_N%lld", static_cast<long long>(l.c),
                static_cast<long long>(l.k), hw, kernel, static_cast<long long>(l.n));
  return name;
}

// threads 0: the process's thread count, and no suffix.
std::string bench_name(int dir, const char* impl, const ShapeSet& set, const Layer& l,
                       int threads) {
  std::string s = std::string("conv/") + kDirs[dir] + "/" + impl + "/" + shape_name(set, l);
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

// Parses and removes --shapes=vgg,other from argv: the sets chosen, in kSets' order; every set
// when absent.
std::vector<const ShapeSet*> take_shapes_flag(int& argc, char** argv) {
  std::vector<const ShapeSet*> sets;
  for (const ShapeSet& set : kSets)
    sets.push_back(&set);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--shapes=", 9) != 0) continue;
    const std::string list = std::string(",") + (argv[i] + 9) + ",";
    std::vector<const ShapeSet*> chosen;
    for (const ShapeSet& set : kSets)
      if (list.find(std::string(",") + set.name + ",") != std::string::npos) chosen.push_back(&set);
    size_t names = 0;  // every name must be a set's
    for (char ch : list)
      names += ch == ',';
    if (chosen.empty() || chosen.size() != names - 1) {
      std::fprintf(stderr, "conv_bench: --shapes wants a list of vgg and other, got %s\n",
                   argv[i] + 9);
      std::exit(2);
    }
    sets = chosen;
    std::copy(argv + i + 1, argv + argc, argv + i);
    --argc, --i;
  }
  return sets;
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

// A pass's operands, NCHW and OIHW, random in [-1, 1); the outputs' contents are undefined.
struct Operands {
  Tensor x, w, dy, y, dx, dw;

  explicit Operands(const Layer& l) {
    const kernels::ConvShape s = l.shape();
    Rng rng(1);
    x = random_tensor({s.n, s.c, s.h, s.w}, rng);
    w = random_tensor({s.k, s.c, s.kh, s.kw}, rng);
    dy = random_tensor({s.n, s.k, s.ho, s.wo}, rng);
    y = Tensor(dy.shape()), dx = Tensor(x.shape()), dw = Tensor(w.shape());
  }
  // The pass's two inputs, in the order oneDNN takes them, and its output.
  const Tensor& in0(int dir) const { return dir == 2 ? x : dir == 1 ? dy : x; }
  const Tensor& in1(int dir) const { return dir == 2 ? dy : w; }
  const Tensor& out(int dir) const { return dir == 0 ? y : dir == 1 ? dx : dw; }
};

void run_prism(int dir, const kernels::ConvShape& s, const Operands& t) {
  if (dir == 0) kernels::conv2d_forward(s, t.x.data(), t.w.data(), nullptr, t.y.data());
  if (dir == 1) kernels::conv2d_backward_data(s, t.dy.data(), t.w.data(), t.dx.data());
  if (dir == 2) kernels::conv2d_backward_weights(s, t.x.data(), t.dy.data(), t.dw.data());
}

void bm_prism(benchmark::State& state, Isa isa, int dir, Layer l, int threads) {
  set_active_isa(isa);
  if (threads > 0) set_num_threads(threads);
  const kernels::ConvShape s = l.shape();
  const Operands t(l);
  Stopwatch all;
  for (auto _ : state) {
    all.time([&] { run_prism(dir, s, t); });
    benchmark::ClobberMemory();
  }
  set_counters(state, l, all.seconds, g_peak[int(isa)]);
}

#ifdef PRISM_HAVE_DNNL
// One pass of oneDNN's convolution, its inputs given as the user's NCHW / OIHW tensors.
// plain: oneDNN computes on those layouts; else on the layouts it prefers, into which each run
// first reorders every input that differs.
class OnednnPass {
 public:
  OnednnPass(bool plain, int dir, const Layer& l) : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
    using namespace dnnl;
    const kernels::ConvShape s = l.shape();
    const memory::dims src{s.n, s.c, s.h, s.w}, wei{s.k, s.c, s.kh, s.kw},
        dst{s.n, s.k, s.ho, s.wo}, strides{s.sh, s.sw}, pad{s.ph, s.pw};
    const tag t = plain ? tag::nchw : tag::any, tw = plain ? tag::oihw : tag::any;
    const memory::desc sd(src, memory::data_type::f32, t), wd(wei, memory::data_type::f32, tw),
        dd(dst, memory::data_type::f32, t);
    const auto fpd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, sd,
                                  wd, dd, strides, pad, pad),
        eng_);
    if (dir == 0) {
      inputs_ = {input(src, tag::nchw, fpd.src_desc()), input(wei, tag::oihw, fpd.weights_desc())};
      output(DNNL_ARG_DST, dst, tag::nchw, fpd.dst_desc());
      args_.insert({{DNNL_ARG_SRC, inputs_[0].to}, {DNNL_ARG_WEIGHTS, inputs_[1].to}});
      prim_ = convolution_forward(fpd);
    } else if (dir == 1) {
      const auto pd = convolution_backward_data::primitive_desc(
          convolution_backward_data::desc(algorithm::convolution_direct, sd, wd, dd, strides, pad,
                                          pad),
          eng_, fpd);
      inputs_ = {input(dst, tag::nchw, pd.diff_dst_desc()),
                 input(wei, tag::oihw, pd.weights_desc())};
      output(DNNL_ARG_DIFF_SRC, src, tag::nchw, pd.diff_src_desc());
      args_.insert({{DNNL_ARG_DIFF_DST, inputs_[0].to}, {DNNL_ARG_WEIGHTS, inputs_[1].to}});
      prim_ = convolution_backward_data(pd);
    } else {
      const auto pd = convolution_backward_weights::primitive_desc(
          convolution_backward_weights::desc(algorithm::convolution_direct, sd, wd, dd, strides,
                                             pad, pad),
          eng_, fpd);
      inputs_ = {input(src, tag::nchw, pd.src_desc()), input(dst, tag::nchw, pd.diff_dst_desc())};
      output(DNNL_ARG_DIFF_WEIGHTS, wei, tag::oihw, pd.diff_weights_desc());
      args_.insert({{DNNL_ARG_SRC, inputs_[0].to}, {DNNL_ARG_DIFF_DST, inputs_[1].to}});
      prim_ = convolution_backward_weights(pd);
    }
  }

  // Copies the user's tensor in as input i (Operands::in0, in1).
  void set_input(int i, const Tensor& t) {
    std::memcpy(inputs_[i].from.get_data_handle(), t.data(), t.numel() * sizeof(float));
  }
  void reorder_inputs() {
    for (Input& in : inputs_)
      if (in.reorder) dnnl::reorder(in.from, in.to).execute(strm_, in.from, in.to);
    strm_.wait();
  }
  void execute() {
    prim_.execute(strm_, args_);
    strm_.wait();
  }
  // The output in the user's layout, NCHW or OIHW.
  std::vector<float> result() {
    dnnl::memory& out = args_.at(out_arg_);
    dnnl::memory user(out_user_, eng_);
    dnnl::reorder(out, user).execute(strm_, out, user);
    strm_.wait();
    const float* p = static_cast<const float*>(user.get_data_handle());
    return std::vector<float>(p, p + out_user_.get_size() / sizeof(float));
  }

 private:
  using tag = dnnl::memory::format_tag;
  struct Input {
    dnnl::memory from, to;  // the user's tensor, and what the primitive reads
    bool reorder;
  };
  Input input(const dnnl::memory::dims& d, tag layout, const dnnl::memory::desc& want) {
    dnnl::memory user({d, dnnl::memory::data_type::f32, layout}, eng_);
    if (user.get_desc() == want) return Input{user, user, false};
    return Input{user, dnnl::memory(want, eng_), true};
  }
  void output(int arg, const dnnl::memory::dims& d, tag layout, const dnnl::memory::desc& desc) {
    out_arg_ = arg;
    out_user_ = dnnl::memory::desc(d, dnnl::memory::data_type::f32, layout);
    args_.insert({arg, dnnl::memory(desc, eng_)});
  }

  dnnl::engine eng_;
  dnnl::stream strm_;
  std::vector<Input> inputs_;
  std::unordered_map<int, dnnl::memory> args_;
  int out_arg_ = 0;
  dnnl::memory::desc out_user_;
  dnnl::primitive prim_;
};

void bm_onednn(benchmark::State& state, bool plain, int dir, Layer l, int threads) {
  if (threads > 0) set_num_threads(threads);
  OnednnPass pass(plain, dir, l);
  {
    const Operands t(l);
    pass.set_input(0, t.in0(dir));
    pass.set_input(1, t.in1(dir));
  }
  Stopwatch reorders, all;
  for (auto _ : state)
    all.time([&] {
      reorders.time([&] { pass.reorder_inputs(); });
      pass.execute();
    });
  set_counters(state, l, all.seconds, g_peak[int(detected_isa())]);
  state.counters["reorder_ms"] = 1e3 * reorders.seconds / double(state.iterations());
}

// max |a - b| over max |b|: a relative error that the output's small elements do not inflate.
double relative_difference(const Tensor& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a.data()[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Checks that prism (at each ISA) and both oneDNN variants compute the same three passes on
// the first shape of each kind in the set: kernel, stride, padding, and the input size's
// parity (at stride 2 it decides whether backward-data's last row and column get a gradient).
// Prints what differs by more than 1e-3 and returns false then.
bool check_against_onednn(const ShapeSet& set, const std::vector<Isa>& isas) {
  std::vector<std::string> kinds;
  bool ok = true;
  const Isa active = active_isa();
  for (const Layer& l : set.layers) {
    char kind[64];
    std::snprintf(kind, sizeof kind, "%lldx%lld s%lld p%lld %s", static_cast<long long>(l.kh),
                  static_cast<long long>(l.kw), static_cast<long long>(l.stride),
                  static_cast<long long>(l.pad), l.h % 2 ? "odd" : "even");
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) continue;
    kinds.push_back(kind);
    const Operands t(l);
    for (int d = 0; d < 3; ++d) {
      std::vector<float> theirs[2];
      for (bool plain : {false, true}) {
        OnednnPass pass(plain, d, l);
        pass.set_input(0, t.in0(d));
        pass.set_input(1, t.in1(d));
        pass.reorder_inputs();
        pass.execute();
        theirs[plain] = pass.result();
      }
      for (Isa isa : isas) {
        set_active_isa(isa);
        run_prism(d, l.shape(), t);
        for (bool plain : {false, true}) {
          const double r = relative_difference(t.out(d), theirs[plain]);
          if (r <= 1e-3) continue;
          std::fprintf(stderr, "conv_bench: %s differs from %s by %.2e (relative to its largest)\n",
                       bench_name(d, isa_name(isa), set, l, 0).c_str(),
                       plain ? "onednn_nchw" : "onednn", r);
          ok = false;
        }
      }
    }
  }
  set_active_isa(active);
  std::fprintf(stderr, "conv_bench: prism and oneDNN %s on %zu shapes of %s, one of each kind\n",
               ok ? "agree" : "DIFFER", kinds.size(), set.name);
  return ok;
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
  // threads: the counts run (0 alone when --threads was not given); isa: prism's best.
  void print_summary(const std::vector<const ShapeSet*>& sets, const std::vector<int>& threads,
                     const char* isa) const {
    for (const ShapeSet* set : sets) {
      for (int n : threads)
        print_totals(*set, n);
      const std::string set_isa = std::string(" on ") + set->title + " (fwd, bwd_data, bwd_weights";
      print_per_shape(*set,
                      isa + std::string(" / onednn") + set_isa + " at each thread count):", threads,
                      [&](const Layer& l, int n, int d) {
                        return over(ms(bench_name(d, isa, *set, l, n)),
                                    ms(bench_name(d, "onednn", *set, l, n)));
                      });
      if (threads.size() < 2) continue;
      print_per_shape(*set,
                      "Speed-up of " + std::string(isa) + " at " + std::to_string(threads.back()) +
                          " threads over " + std::to_string(threads.front()) + set_isa + "):",
                      {threads.back()}, [&](const Layer& l, int n, int d) {
                        return over(ms(bench_name(d, isa, *set, l, threads.front())),
                                    ms(bench_name(d, isa, *set, l, n)));
                      });
    }
  }

 private:
  // Only the impls with a time for every shape and pass; nothing when there are none.
  void print_totals(const ShapeSet& set, int threads) const {
    const int shown = threads > 0 ? threads : num_threads();
    std::map<std::string, double> sums;
    bool header = false;
    for (const char* impl : {"avx512", "avx2", "onednn", "onednn_nchw"}) {
      double dir_ms[3] = {0, 0, 0};
      bool complete = true;
      for (int d = 0; d < 3; ++d)
        for (const Layer& l : set.layers) {
          const double t = ms(bench_name(d, impl, set, l, threads));
          complete = complete && t >= 0;
          dir_ms[d] += t;
        }
      if (!complete) continue;
      if (!header) {
        std::printf("\nTotals over %s (ms; %d thread%s):\n", set.title, shown,
                    shown == 1 ? "" : "s");
        std::printf("%-16s %10s %10s %12s %10s\n", "impl", "fwd", "bwd_data", "bwd_weights", "sum");
        header = true;
      }
      sums[impl] = dir_ms[0] + dir_ms[1] + dir_ms[2];
      std::printf("%-16s %10.1f %10.1f %12.1f %10.1f\n", impl, dir_ms[0], dir_ms[1], dir_ms[2],
                  sums[impl]);
    }
    for (const char* ours : {"avx512", "avx2"})
      for (const char* theirs : {"onednn", "onednn_nchw"})
        if (sums.count(ours) && sums.count(theirs))
          std::printf("%s / %s: %.3f\n", ours, theirs, sums[ours] / sums[theirs]);
  }

  // a / b, or -1 where a time is missing (ms() is -1 then).
  static double over(double a, double b) { return a > 0 && b > 0 ? a / b : -1; }

  // A row per shape, a cell per thread count and pass: ratio(layer, threads, pass), negative
  // where a time is missing. Shapes without any ratio are left out, and the title too when
  // that is all of them (a --benchmark_list_tests run, or a set the filter dropped).
  template <class Ratio>
  void print_per_shape(const ShapeSet& set, const std::string& title,
                       const std::vector<int>& counts, Ratio ratio) const {
    bool header = false;
    for (const Layer& l : set.layers) {
      std::string row;
      bool any = false;
      for (int n : counts)
        for (int d = 0; d < 3; ++d) {
          const double r = ratio(l, n, d);
          char cell[16] = "      -";
          if (r > 0) std::snprintf(cell, sizeof cell, " %6.2f", r);
          row += cell;
          any = any || r > 0;
        }
      if (!any) continue;
      if (!header) std::printf("\n%s\n", title.c_str());
      header = true;
      std::printf("%-28s%s\n", shape_name(set, l).c_str(), row.c_str());
    }
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
  const std::vector<const ShapeSet*> sets = take_shapes_flag(argc, argv);
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
#ifdef PRISM_HAVE_DNNL
  // The VGG set is 3x3, stride 1, pad 1 only, which the other set's checks cover.
  for (const ShapeSet* set : sets)
    if (!set->vgg_names && !check_against_onednn(*set, isas)) return 1;
#endif
  for (int n : threads)
    for (const ShapeSet* set : sets)
      for (int d = 0; d < 3; ++d) {
        for (Isa isa : isas)
          for (const Layer& l : set->layers)
            benchmark::RegisterBenchmark(bench_name(d, isa_name(isa), *set, l, n).c_str(), bm_prism,
                                         isa, d, l, n)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
#ifdef PRISM_HAVE_DNNL
        for (bool plain : {false, true})
          for (const Layer& l : set->layers)
            benchmark::RegisterBenchmark(
                bench_name(d, plain ? "onednn_nchw" : "onednn", *set, l, n).c_str(), bm_onednn,
                plain, d, l, n)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
#endif
      }
  if (!console) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary(sets, threads, isas.empty() ? "avx2" : isa_name(isas.front()));
  }
  benchmark::Shutdown();
  return 0;
}

#include "ops/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/isa.hpp"
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_pack.hpp"
#include "ops/kernels/conv2d_plan.hpp"
#include "ops/kernels/conv2d_reference.hpp"
#include "ops/kernels/conv2d_shape.hpp"
#include "ops/kernels/scratch.hpp"

namespace prism::kernels {

namespace {

// The SIMD kernels active_isa() allows, or null for the reference kernels.
const Conv2dIsa* simd_kernels() {
  switch (active_isa()) {
    case Isa::avx512:
      return &conv2d_avx512();
    case Isa::avx2:
      return &conv2d_avx2();
    case Isa::scalar:
      break;
  }
  return nullptr;
}

// The first (chunk, group) pair of thread t's share: pairs go chunk by chunk, and the shares
// are equal in images, since the last chunk may hold fewer.
int64_t first_pair(const DirectPlan& p, int64_t t, int64_t nt) {
  const int64_t work = p.n * p.groups, want = work * t / nt;  // in image-groups
  const int64_t full = (p.chunks - 1) * p.groups, per_full = p.images_per_chunk;
  if (want <= full * per_full) return (want + per_full - 1) / per_full;
  const int64_t last = p.n - (p.chunks - 1) * p.images_per_chunk;
  return full + (want - full * per_full + last - 1) / last;
}

// Images [first, first + images) of src as the plan's tiles read them: packed into buffer, or
// where they lie when the plan reads them in place.
const float* pack_chunk(const DirectPlan& p, const float* src, int64_t first, int64_t images,
                        float* buffer) {
  if (p.in_place) return src + first * p.in_c * p.plane();
  pack_direct_source(p, src, first, images, 0, p.images_per_chunk * p.in_c, buffer);
  return buffer;
}

// A whole direct pass: every (chunk, group) pair. Threads split the pairs into contiguous
// shares and pack each chunk they meet into their own scratch; every output is summed by one
// tile, in tap order, so the result does not depend on the thread count.
void run_direct(const Conv2dIsa& isa, const DirectPlan& p, const float* src, const float* w,
                const float* bias, float* out) {
  Scratch packed(p.packed_weight_floats());
  pack_direct_weights(p, w, packed.get());
  Scratch scratch(p.scratch_floats(omp_get_max_threads()));
  const int64_t image_out = p.out_c * p.out_h * p.out_w;
  bool ran = true;
#pragma omp parallel reduction(&& : ran)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t q = first_pair(p, t, nt), end = first_pair(p, t + 1, nt); q < end;) {
      const int64_t c = q / p.groups, g0 = q % p.groups, g1 = std::min(p.groups, g0 + end - q);
      const int64_t first = c * p.images_per_chunk;
      const int64_t images = std::min(p.images_per_chunk, p.n - first);
      const float* chunk = pack_chunk(p, src, first, images, p.chunk_of(scratch.get(), t));
      ran = isa.direct(p, {chunk, first, images}, g0, g1, packed.get(), bias,
                       out + first * image_out, p.stage_of(scratch.get(), t)) &&
            ran;
      q += g1 - g0;
    }
  }
  PRISM_CHECK(ran, "conv2d: the " << isa.name << " kernels have no tile of " << p.tile.noc << "x"
                                  << p.tile.segs << "x" << p.tile.seg_len << " for stride "
                                  << p.stride_w);
}

// `rows` dx rows at stride 2, `skip` floats apart, from the two phases of their columns (one
// of them may be null: zeros; their rows (w + 1) / 2 and w / 2 long), each case a loop of its own
// that the compiler vectorizes, chosen once for all the rows. (One loop with the null checks inside
// took 1.2-1.4x the time on the 1x1 shortcuts' backward-data, in interleaved runs here on
// 2026-12-06; the case chosen row by row, on their rows of 16, 2x.)
void interleave_rows(const float* even, const float* odd, int64_t w, int64_t rows, int64_t skip,
                     float* to) {
  const int64_t pairs = w / 2, even_w = (w + 1) / 2, odd_w = w / 2;
  auto each_row = [&](auto&& row) {
    for (int64_t r = 0; r < rows; ++r, to += skip) {
      row(r);
      if (w % 2) to[w - 1] = even ? even[r * even_w + pairs] : 0.0f;
    }
  };
  if (even && odd)
    each_row([&](int64_t r) {
      const float *e = even + r * even_w, *o = odd + r * odd_w;
      for (int64_t q = 0; q < pairs; ++q)
        to[2 * q] = e[q], to[2 * q + 1] = o[q];
    });
  else if (even)
    each_row([&](int64_t r) {
      const float* e = even + r * even_w;
      for (int64_t q = 0; q < pairs; ++q)
        to[2 * q] = e[q], to[2 * q + 1] = 0.0f;
    });
  else
    each_row([&](int64_t r) {
      const float* o = odd + r * odd_w;
      for (int64_t q = 0; q < pairs; ++q)
        to[2 * q] = 0.0f, to[2 * q + 1] = o[q];
    });
}

// The phase rows py none of whose phases (py, px) has taps: their dx rows (every other row of a
// 1x1 at stride 2) are zeros.
std::vector<bool> tapless_rows(const BackwardDataPlan& plan) {
  std::vector<bool> tapless;
  for (auto row = plan.phases.begin(); row != plan.phases.end(); row += plan.phase_cols)
    tapless.push_back(std::none_of(row, row + plan.phase_cols,
                                   [](const BackwardDataPhase& phase) { return phase.has_taps; }));
  return tapless;
}

// The dx rows of images [first, first + images) from their phases: row y takes, column by
// column, the pixels of the phases (y % sh, px) from part[phase] ([images, C, rows, cols]), or
// zeros for a phase without taps (null). A plane's rows go phase row by phase row, so a phase's
// rows are read one after another; tapless phase rows are zeroed with the whole plane, in one
// call (row by row, the calls cost a tenth of the pass). dx is written once; phase by phase, it
// took one pass of strided scalar stores per phase, 2-3x oneDNN's whole pass on ResNet's 1x1
// shortcuts.
void put_phases(const BackwardDataPlan& plan, const std::vector<const float*>& part,
                const std::vector<bool>& tapless, int64_t first, int64_t images, float* dx) {
  const ConvShape& s = plan.s;
  const int64_t pc = plan.phase_cols, phase_rows = std::min(s.sh, s.h);
  const bool any_tapless = std::find(tapless.begin(), tapless.end(), true) != tapless.end();
  for (int64_t plane = 0; plane < images * s.c; ++plane) {
    float* to = dx + (first * s.c + plane) * s.h * s.w;
    if (any_tapless) std::fill(to, to + s.h * s.w, 0.0f);
    for (int64_t py = 0; py < phase_rows; ++py) {
      if (tapless[py]) continue;
      const BackwardDataPhase* phases = plan.phases.data() + py * pc;
      const float* const* from = part.data() + py * pc;
      auto row_of = [&](int64_t px) -> const float* {
        return from[px] ? from[px] + plane * phases[px].rows * phases[px].cols : nullptr;
      };
      const int64_t rows = phases[0].rows;
      if (s.sw == 2 && s.w >= 2) {
        interleave_rows(row_of(0), row_of(1), s.w, rows, s.sh * s.w, to + py * s.w);
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        float* row = to + (py + r * s.sh) * s.w;
        std::fill(row, row + s.w, 0.0f);
        for (int64_t px = 0; px < pc; ++px)
          if (const float* f = row_of(px))
            for (int64_t q = 0; q < phases[px].cols; ++q)
              row[px + q * s.sw] = f[r * phases[px].cols + q];
      }
    }
  }
}

// Backward-data phase by phase, a chunk at a time (BackwardDataPlan): threads split the images;
// for each chunk of its share, a thread packs dy once for the phases that share the packing,
// runs every phase with taps into its buffer, and puts the chunk's dx rows together. Every dx
// value comes from one tile, so dx does not depend on the thread count.
void run_phases(const Conv2dIsa& isa, const BackwardDataPlan& plan, const float* dy, const float* w,
                float* dx) {
  const ConvShape& s = plan.s;
  std::vector<Scratch> packed;  // each phase's weights (nothing without taps)
  for (const BackwardDataPhase& phase : plan.phases) {
    packed.emplace_back(phase.has_taps ? phase.direct.packed_weight_floats() : 0);
    if (phase.has_taps) pack_direct_weights(phase.direct, w, packed.back().get());
  }
  Scratch scratch(plan.thread_floats * omp_get_max_threads());
  const std::vector<bool> tapless = tapless_rows(plan);
  bool ran = true;
#pragma omp parallel reduction(&& : ran)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    float* mine = scratch.get() + t * plan.thread_floats;
    std::vector<const float*> part;  // each phase's output for a chunk (null: no taps, zeros)
    for (const BackwardDataPhase& phase : plan.phases)
      part.push_back(phase.has_taps ? mine + phase.out_at : nullptr);
    const int64_t end = s.n * (t + 1) / nt;
    for (int64_t first = s.n * t / nt; first < end; first += plan.images_per_chunk) {
      const int64_t images = std::min(plan.images_per_chunk, end - first);
      for (size_t k = 0; k < plan.phases.size(); ++k) {
        const BackwardDataPhase& phase = plan.phases[k];
        if (!phase.has_taps) continue;
        const DirectPlan& p = phase.direct;
        const float* chunk = phase.packs ? pack_chunk(p, dy, first, images, mine + phase.chunk_at)
                                         : mine + phase.chunk_at;
        ran = isa.direct(p, {chunk, first, images}, 0, p.groups, packed[k].get(), nullptr,
                         mine + phase.out_at, mine + phase.stage_at) &&
              ran;
      }
      put_phases(plan, part, tapless, first, images, dx);
    }
  }
  PRISM_CHECK(ran, "conv2d: the " << isa.name << " kernels have no tile for a phase of " << s.kh
                                  << "x" << s.kw << " at stride " << s.sh << "x" << s.sw);
}

// A 1x1 convolution at a stride, without padding, reads only every sh-th row and sw-th column
// of x: it is the pointwise convolution of those pixels (pointwise()), gathered first. The
// strided tiles would pack and step over whole rows for them (ResNet's 1x1 shortcuts took 1.4x
// oneDNN's forward, 2x its backward-weights, with the weight tiles of that time).
bool strided_pointwise(const ConvShape& s) {
  return s.unpadded_1x1() && (s.sh > 1 || s.sw > 1);
}
ConvShape pointwise(const ConvShape& s) {
  return make_conv_shape(s.n, s.c, s.ho, s.wo, s.k, 1, 1, 1, 1, 0, 0);
}
// x[N, C, h, w] -> the pixels a strided 1x1 convolution reads, [N, C, ho, wo].
Scratch gather_strided(const ConvShape& s, const float* x) {
  Scratch out(s.n * s.c * s.ho * s.wo);
  float* to = out.get();
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane)
    for (int64_t y = 0; y < s.ho; ++y) {
      const float* __restrict row = x + (plane * s.h + y * s.sh) * s.w;
      float* __restrict dst = to + (plane * s.ho + y) * s.wo;
      if (s.sw == 2)  // a constant stride, which the compiler vectorizes (1/3 of the pass, not)
        for (int64_t q = 0; q < s.wo; ++q)
          dst[q] = row[2 * q];
      else
        for (int64_t q = 0; q < s.wo; ++q)
          dst[q] = row[q * s.sw];
    }
  return out;
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_forward_reference(s, x, w, bias, y);
  if (strided_pointwise(s))
    return conv2d_forward(pointwise(s), gather_strided(s, x).get(), w, bias, y);
  run_direct(*isa, make_forward_plan(s, *isa), x, w, bias, y);
}

void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_backward_data_reference(s, dy, w, dx);
  const BackwardDataPlan plan = make_backward_data_plan(s, *isa);
  if (plan.phases.size() > 1) return run_phases(*isa, plan, dy, w, dx);
  // One phase is all of dx: stride 1, or rows and columns no more than one each at a stride.
  const BackwardDataPhase& all = plan.phases[0];
  if (all.has_taps) return run_direct(*isa, all.direct, dy, w, nullptr, dx);
  std::fill(dx, dx + s.n * s.c * s.h * s.w, 0.0f);
}

void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_backward_weights_reference(s, x, dy, dw);
  if (strided_pointwise(s))
    return conv2d_backward_weights(pointwise(s), gather_strided(s, x).get(), dy, dw);
  const WeightGradPlan p = make_weight_grad_plan(s, *isa, omp_get_max_threads());
  Scratch acc(p.acc_floats), scratch(p.scratch_floats());
  PRISM_CHECK(isa->weight_grad(p, x, dy, acc.get(), scratch.get()),
              "conv2d: the " << isa->name << " kernels have no weight tile of " << p.tile.vecs
                             << "x" << p.tile.taps);
  unpack_weight_grad(p, acc.get(), dw);
}

}  // namespace prism::kernels

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

void run_direct(const Conv2dIsa& isa, const DirectPlan& p, const float* src, const float* w,
                const float* bias, float* out) {
  Scratch packed(p.packed_weight_floats());
  pack_direct_weights(p, w, packed.get());
  Scratch scratch(p.scratch_floats(omp_get_max_threads()));
  PRISM_CHECK(isa.direct(p, src, packed.get(), bias, out, scratch.get()),
              "conv2d: the " << isa.name << " kernels have no tile of " << p.tile.noc << "x"
                             << p.tile.segs << "x" << p.tile.seg_len << " for stride "
                             << p.stride_w);
}

// One dx row at stride 2 from the two phases of its columns (null: zeros), each case a loop of
// its own that the compiler vectorizes. (One loop with the null checks inside it took 1.2-1.4x
// the time on the 1x1 shortcuts' backward-data, in interleaved runs here on 2026-12-06.)
void interleave_pair(const float* even, const float* odd, int64_t w, float* to) {
  const int64_t pairs = w / 2;
  if (even && odd)
    for (int64_t q = 0; q < pairs; ++q)
      to[2 * q] = even[q], to[2 * q + 1] = odd[q];
  else if (even)
    for (int64_t q = 0; q < pairs; ++q)
      to[2 * q] = even[q], to[2 * q + 1] = 0.0f;
  else if (odd)
    for (int64_t q = 0; q < pairs; ++q)
      to[2 * q] = 0.0f, to[2 * q + 1] = odd[q];
  else
    std::fill(to, to + 2 * pairs, 0.0f);
  if (w % 2) to[w - 1] = even ? even[pairs] : 0.0f;
}

// dx from its phases, one dx row at a time: row y takes, column by column, the pixels of the
// phases (y % sh, px) from part[phase] ([N, C, rows, cols]), or zeros for a phase without taps
// (null). So dx is written once, in order; phase by phase, it took one pass of strided scalar
// stores per phase, 2-3x oneDNN's whole pass on ResNet's 1x1 shortcuts.
void put_phases(const ConvShape& s, const std::vector<BackwardDataPhase>& phases,
                const std::vector<const float*>& part, float* dx) {
  const int64_t phase_cols = std::min(s.sw, s.w);  // phases are numbered py * phase_cols + px
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane)
    for (int64_t y = 0; y < s.h; ++y) {
      float* to = dx + (plane * s.h + y) * s.w;
      const int64_t first = y % s.sh * phase_cols;  // the phases of this row
      auto row_of = [&](int64_t px) -> const float* {
        const BackwardDataPhase& phase = phases[first + px];
        const float* from = part[first + px];
        return from ? from + (plane * phase.rows + y / s.sh) * phase.cols : nullptr;
      };
      if (s.sw == 2 && s.w >= 2) {
        interleave_pair(row_of(0), row_of(1), s.w, to);
        continue;
      }
      std::fill(to, to + s.w, 0.0f);
      for (int64_t px = 0; px < phase_cols; ++px)
        if (const float* row = row_of(px))
          for (int64_t q = 0; q < phases[first + px].cols; ++q)
            to[px + q * s.sw] = row[q];
    }
}

// A 1x1 convolution at a stride, without padding, reads only every sh-th row and sw-th column
// of x: it is the pointwise convolution of those pixels (pointwise()), gathered first. The
// strided tiles would pack and step over whole rows for them, and the strided weight tiles
// cannot go along pixels (ResNet's 1x1 shortcuts took 1.4x oneDNN's forward, 2x its
// backward-weights).
bool strided_pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.ph == 0 && s.pw == 0 && (s.sh > 1 || s.sw > 1);
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
      const float* row = x + (plane * s.h + y * s.sh) * s.w;
      float* dst = to + (plane * s.ho + y) * s.wo;
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
  const std::vector<BackwardDataPhase> phases = make_backward_data_plans(s, *isa);
  if (s.sh == 1 && s.sw == 1) return run_direct(*isa, phases[0].direct, dy, w, nullptr, dx);
  // At a stride: each phase into a buffer of its pixels, then all of them onto dx.
  int64_t floats = 0;
  for (const BackwardDataPhase& phase : phases)
    if (phase.has_taps) floats += s.n * s.c * phase.rows * phase.cols;
  Scratch parts(floats);
  std::vector<const float*> part;
  float* next = parts.get();
  for (const BackwardDataPhase& phase : phases) {
    if (!phase.has_taps) {
      part.push_back(nullptr);
      continue;
    }
    if (strided_pointwise(s))  // its one phase with taps, (0, 0), is the pointwise pass
      conv2d_backward_data(pointwise(s), dy, w, next);
    else
      run_direct(*isa, phase.direct, dy, w, nullptr, next);
    part.push_back(next);
    next += s.n * s.c * phase.rows * phase.cols;
  }
  put_phases(s, phases, part, dx);
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

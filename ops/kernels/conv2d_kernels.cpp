#include "ops/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include <vector>

#include "core/error.hpp"
#include "core/isa.hpp"
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_pack.hpp"
#include "ops/kernels/conv2d_plan.hpp"
#include "ops/kernels/conv2d_reference.hpp"
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

// A backward-data phase's pixels, from [N, C, rows, cols] (zeros when from is null), onto dx.
void put_phase(const ConvShape& s, const BackwardDataPhase& phase, const float* from, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane)
    for (int64_t r = 0; r < phase.rows; ++r) {
      float* to = dx + (plane * s.h + phase.py + r * s.sh) * s.w + phase.px;
      const float* row = from ? from + (plane * phase.rows + r) * phase.cols : nullptr;
      for (int64_t q = 0; q < phase.cols; ++q)
        to[q * s.sw] = row ? row[q] : 0.0f;
    }
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_forward_reference(s, x, w, bias, y);
  run_direct(*isa, make_forward_plan(s, *isa), x, w, bias, y);
}

void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_backward_data_reference(s, dy, w, dx);
  const std::vector<BackwardDataPhase> phases = make_backward_data_plans(s, *isa);
  if (s.sh == 1 && s.sw == 1) return run_direct(*isa, phases[0].direct, dy, w, nullptr, dx);
  // At a stride: each phase into a buffer of its pixels, then onto its rows and columns of dx.
  for (const BackwardDataPhase& phase : phases) {
    if (!phase.has_taps) {
      put_phase(s, phase, nullptr, dx);
      continue;
    }
    Scratch part(s.n * s.c * phase.rows * phase.cols);
    run_direct(*isa, phase.direct, dy, w, nullptr, part.get());
    put_phase(s, phase, part.get(), dx);
  }
}

void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const Conv2dIsa* isa = simd_kernels();
  if (!isa) return conv2d_backward_weights_reference(s, x, dy, dw);
  const WeightGradPlan p = make_weight_grad_plan(s, *isa, omp_get_max_threads());
  Scratch acc(p.acc_floats), scratch(p.scratch_floats());
  PRISM_CHECK(isa->weight_grad(p, x, dy, acc.get(), scratch.get()),
              "conv2d: the " << isa->name << " kernels have no weight tile of " << p.tile.vecs
                             << "x" << p.tile.taps);
  unpack_weight_grad(p, acc.get(), dw);
}

}  // namespace prism::kernels

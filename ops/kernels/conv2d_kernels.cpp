#include "ops/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include "core/error.hpp"
#include "core/isa.hpp"
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_plan.hpp"
#include "ops/kernels/scratch.hpp"

namespace prism::kernels {

namespace {

int lanes_of(Isa isa) {
  return isa == Isa::avx512 ? 16 : 8;
}

void run_direct(Isa isa, const DirectPlan& p, const float* src, const float* w, const float* bias,
                float* out) {
  Scratch packed(p.groups * p.group_floats);
  pack_direct_weights(p, w, packed.get());
  Scratch scratch(omp_get_max_threads() * p.thread_floats);
  const bool ran = isa == Isa::avx512
                       ? conv2d_direct_avx512(p, src, packed.get(), bias, out, scratch.get())
                       : conv2d_direct_avx2(p, src, packed.get(), bias, out, scratch.get());
  PRISM_CHECK(ran, "conv2d: the " << isa_name(isa) << " kernels have no tile of " << p.tile.noc
                                  << "x" << p.tile.segs << "x" << p.tile.seg_len << " for stride "
                                  << p.stride);
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias,
                    float* y) {
  const Isa isa = active_isa();
  if (isa != Isa::scalar)
    return run_direct(isa, make_forward_plan(s, lanes_of(isa)), x, w, bias, y);
  conv2d_forward_reference(s, x, w, y);
  if (!bias) return;
  const int64_t plane = s.ho * s.wo;
  for (int64_t nk = 0; nk < s.n * s.k; ++nk)
    for (int64_t q = 0; q < plane; ++q)
      y[nk * plane + q] += bias[nk % s.k];
}

void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const Isa isa = active_isa();
  if (isa == Isa::scalar) return conv2d_backward_data_reference(s, dy, w, dx);
  run_direct(isa, make_backward_data_plan(s, lanes_of(isa)), dy, w, nullptr, dx);
}

void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const Isa isa = active_isa();
  if (isa == Isa::scalar) return conv2d_backward_weights_reference(s, x, dy, dw);
  const int threads = omp_get_max_threads();
  const WeightGradPlan p = make_weight_grad_plan(s, lanes_of(isa), threads);
  const std::vector<int64_t> pixel = weight_grad_pixels(p);
  Scratch acc(p.acc_floats), scratch((p.own_chunks ? threads : 1) * p.thread_floats);
  const bool ran = isa == Isa::avx512
                       ? conv2d_weight_grad_avx512(p, x, dy, pixel.data(), acc.get(), scratch.get())
                       : conv2d_weight_grad_avx2(p, x, dy, pixel.data(), acc.get(), scratch.get());
  PRISM_CHECK(ran, "conv2d: the " << isa_name(isa) << " kernels have no weight tile of "
                                  << p.tile.vecs << "x" << p.tile.taps);
  unpack_weight_grad(p, acc.get(), dw);
}

}  // namespace prism::kernels

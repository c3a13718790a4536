// Entry points of the ISA files (conv2d_avx512.cpp, conv2d_avx2.cpp). Call them only when
// active_isa() allows it. Each returns false when the plan's tile is not one it compiles.
#pragma once

#include <cstdint>

#include "ops/kernels/conv2d_plan.hpp"

namespace prism::kernels {

// out (NCHW) = the direct convolution of src (NCHW) with packed weights w, plus bias if not null.
// scratch: threads * p.thread_floats floats.
bool conv2d_direct_avx512(const DirectPlan& p, const float* src, const float* w, const float* bias,
                          float* out, float* scratch);
bool conv2d_direct_avx2(const DirectPlan& p, const float* src, const float* w, const float* bias,
                        float* out, float* scratch);

// acc ([k_groups][tap_groups][taps][group_width], every element written) = the backward-weights
// sums.
// pixel: weight_grad_pixels(p); scratch: p.thread_floats per thread when p.own_chunks, else
// p.thread_floats.
bool conv2d_weight_grad_avx512(const WeightGradPlan& p, const float* x, const float* dy,
                               const int64_t* pixel, float* acc, float* scratch);
bool conv2d_weight_grad_avx2(const WeightGradPlan& p, const float* x, const float* dy,
                             const int64_t* pixel, float* acc, float* scratch);

}  // namespace prism::kernels

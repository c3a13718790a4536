// The convolution kernels for AVX2 with FMA (8 floats a vector, 16 registers). Compiled with
// -mavx2 -mfma and called only when the CPU and OS support them.
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_simd.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::kernels {

bool conv2d_direct_avx2(const DirectPlan& p, const float* src, const float* w, const float* bias,
                        float* out, float* scratch) {
  return direct_if<Avx2, 3, 2>(p, src, w, bias, out, scratch) ||
         direct_if<Avx2, 6, 1>(p, src, w, bias, out, scratch);
}

bool conv2d_weight_grad_avx2(const WeightGradPlan& p, const float* x, const float* dy,
                             const int64_t* pixel, float* acc, float* scratch) {
  return weight_grad_if<Avx2, 2, 6>(p, x, dy, pixel, acc, scratch) ||
         weight_grad_if<Avx2, 1, 9>(p, x, dy, pixel, acc, scratch);
}

}  // namespace prism::kernels

// The convolution kernels for AVX-512 (16 floats a vector, 32 registers). Compiled with
// -mavx512f -mfma and called only when the CPU and OS support them.
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_simd.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::kernels {

bool conv2d_direct_avx512(const DirectPlan& p, const float* src, const float* w, const float* bias,
                          float* out, float* scratch) {
  return direct_if<Avx512, 3, 4>(p, src, w, bias, out, scratch) ||
         direct_if<Avx512, 6, 2>(p, src, w, bias, out, scratch) ||
         direct_if<Avx512, 6, 1>(p, src, w, bias, out, scratch);
}

bool conv2d_weight_grad_avx512(const WeightGradPlan& p, const float* x, const float* dy,
                               const int64_t* pixel, float* acc, float* scratch) {
  return weight_grad_if<Avx512, 4, 6>(p, x, dy, pixel, acc, scratch) ||
         weight_grad_if<Avx512, 2, 9>(p, x, dy, pixel, acc, scratch) ||
         weight_grad_if<Avx512, 1, 9>(p, x, dy, pixel, acc, scratch);
}

}  // namespace prism::kernels

// The convolution kernels for AVX2 with FMA (8 floats a vector, 16 registers): the tiles this
// file compiles, the choice among them, and what runs them (conv2d_isa.hpp).
// Compiled with -mavx2 -mfma and called only when the CPU and OS support them.
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_simd.hpp"
#include "ops/kernels/simd_avx2.hpp"

namespace prism::kernels {

namespace {

// 12 sums of the 16 registers: two channel vectors (when there are more than 8 channels)
// times 3 runs of 2 pixels, or 2 runs of 3 where rows then have fewer pixels spare (rows of 9
// or 15); single columns and strides above 2 take 6 runs of 1.
// 8 channels or fewer on rows of 8 or more at stride 1 go along pixels: 4 channels x 3
// vectors of 8 pixels (7 loads for 12 FMAs, where one channel vector needs 7 for 6).
DirectTile direct_tile(int64_t out_c, int64_t out_w, int64_t stride_w, int64_t /*taps*/) {
  if (out_c <= 8 && out_w >= 8 && stride_w == 1) return {4, 3, 8, true};
  const int noc = out_c > 8 ? 2 : 1;
  if (out_w == 1 || stride_w > 2) return {noc, 6, 1};
  if ((out_w + 2) / 3 * 3 < (out_w + 1) / 2 * 2) return {noc, 2, 3};
  return {noc, 3, 2};
}

bool direct(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1, const float* w,
            const float* bias, float* out, float* stage) {
  return direct_if<Avx2, 3, 2>(p, chunk, g0, g1, w, bias, out, stage) ||
         direct_if<Avx2, 2, 3>(p, chunk, g0, g1, w, bias, out, stage) ||
         direct_if<Avx2, 6, 1>(p, chunk, g0, g1, w, bias, out, stage) ||
         pixel_if<Avx2, 4, 3>(p, chunk, g0, g1, w, bias, out, stage);
}

// 12 sums: 3 channel vectors x 4 taps or 2 x 6, whichever pads the channel vectors less (the
// padding's channels are zeros in dy, summed and dropped); one vector of channels takes 1 x 9.
// A 1 x 9 tile loads 10 values for 9 FMAs, the others 7 or 8 for 12: on K = 40 (5 vectors),
// 2 x 6 over 6 vectors is faster than 1 x 9 over 5.
// Fewer than 4 channel vectors go along pixels where whole vectors of 8 cover the output rows
// with at most 1/8 to spare (at a stride too, x then packed in column phases): 3 channels x 4
// taps (7 loads for 12 FMAs), or 2 x 6 where that pads the channels less.
WeightTile weight_tile(int64_t out_c, int64_t out_w) {
  if (out_c < 32 && (out_w + 7) / 8 * 8 * 8 <= out_w * 9)
    return padded_vecs(out_c, 3) <= padded_vecs(out_c, 2) ? WeightTile{3, 4, true}
                                                          : WeightTile{2, 6, true};
  const int64_t vecs = (out_c + 7) / 8;
  if (vecs == 1) return {1, 9};
  return padded_vecs(vecs, 3) < padded_vecs(vecs, 2) ? WeightTile{3, 4} : WeightTile{2, 6};
}

bool weight_grad(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                 float* scratch) {
  return weight_grad_if<Avx2, 3, 4>(p, x, dy, acc, scratch) ||
         weight_grad_if<Avx2, 2, 6>(p, x, dy, acc, scratch) ||
         weight_grad_if<Avx2, 1, 9>(p, x, dy, acc, scratch) ||
         pixel_weight_grad_if<Avx2, 3, 4>(p, x, dy, acc, scratch) ||
         pixel_weight_grad_if<Avx2, 2, 6>(p, x, dy, acc, scratch);
}

constexpr Conv2dIsa kAvx2{"avx2", 8, direct_tile, weight_tile, direct, weight_grad};

}  // namespace

const Conv2dIsa& conv2d_avx2() {
  return kAvx2;
}

}  // namespace prism::kernels

// The convolution kernels for AVX-512 (16 floats a vector, 32 registers): the tiles this file
// compiles, the choice among them, and what runs them (conv2d_isa.hpp). Compiled
// with -mavx512f -mfma and called only when the CPU and OS support them.
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_simd.hpp"
#include "ops/kernels/simd_avx512.hpp"

namespace prism::kernels {

namespace {

// 24 sums of the 32 registers: two channel vectors (when there are more than 16 channels)
// times 3 runs of 4 pixels, or 4 runs of 3 where rows then have fewer pixels spare (rows of
// 9, 15 and 17: 1.2-1.4x oneDNN's forward with runs of 4). Rows of 4 pixels or fewer, and
// strides above 2, take 8 runs of one pixel in 8 images instead: 16 sums for the same loads
// per FMA, and tiles that skip every padding tap of their pixel (on the 2x2 outputs of a 3x3
// kernel, 5 of 9).
// 16 channels or fewer on rows of 16 or more at stride 1 go along pixels: 8 channels x 3
// vectors of 16 pixels (11 loads for 24 FMAs), or 4 x 6 where that pads the channels less.
// So do up to 64 channels with 32 taps or fewer (the first layer's 27), where the channel
// tiles' stage and transposes cost as much as their FMAs, and any channel count with 128 taps
// or fewer on rows of 128 or more (pointwise convolutions, their images' pixels one row:
// 72->200 on 15x15, 3.4 -> 2.5 ms), on rows that whole vectors cover with at most 1/8 spare
// (on rows of 17, half of the second vector's pixels are spare). With more taps, a tile's rows
// of x no longer stay in L1.
DirectTile direct_tile(int64_t out_c, int64_t out_w, int64_t stride_w, int64_t taps) {
  if (out_c <= 16 && out_w >= 16 && stride_w == 1)
    return (out_c + 3) / 4 * 4 < (out_c + 7) / 8 * 8 ? DirectTile{4, 6, 16, true}
                                                     : DirectTile{8, 3, 16, true};
  const bool few_taps = (out_c <= 64 && taps <= 32) || (taps <= 128 && out_w >= 128);
  if (few_taps && out_w >= 16 && stride_w == 1 && (out_w + 15) / 16 * 16 * 8 <= out_w * 9)
    return {8, 3, 16, true};
  const int noc = out_c > 16 ? 2 : 1;
  if (out_w <= 4 || stride_w > 2) return {noc, 8, 1};
  if ((out_w + 2) / 3 * 3 < (out_w + 3) / 4 * 4) return {noc, 4, 3};
  return {noc, 3, 4};
}

bool direct(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1, const float* w,
            const float* bias, float* out, float* stage) {
  return direct_if<Avx512, 3, 4>(p, chunk, g0, g1, w, bias, out, stage) ||
         direct_if<Avx512, 4, 3>(p, chunk, g0, g1, w, bias, out, stage) ||
         direct_if<Avx512, 8, 1>(p, chunk, g0, g1, w, bias, out, stage) ||
         pixel_if<Avx512, 8, 3>(p, chunk, g0, g1, w, bias, out, stage) ||
         pixel_if<Avx512, 4, 6>(p, chunk, g0, g1, w, bias, out, stage);
}

// 4 channel vectors x 6 taps, 3 x 8 or 2 x 9: the one that pads the channel vectors least (the
// padding's channels are zeros in dy, summed and dropped), the widest on a tie; one vector of
// channels takes 1 x 9. (1 x 9 loads 10 values for 9 FMAs, 2 x 9 11 for 18.)
// Fewer than 4 channel vectors go along pixels where whole vectors of 16 cover the output rows
// with at most 1/8 to spare: 4 channels x 6 taps, 10 loads for 24 FMAs, with no channel vector
// padded. (On 17-wide rows, where a second vector holds one pixel, and on 64 channels, it took
// 1.5-2x the channel tiles' time.) At a stride too, x then packed in column phases.
WeightTile weight_tile(int64_t out_c, int64_t out_w) {
  if (out_c < 64 && (out_w + 15) / 16 * 16 * 8 <= out_w * 9) return {4, 6, true};
  const int64_t vecs = (out_c + 15) / 16;
  if (vecs == 1) return {1, 9};
  WeightTile best{4, 6};
  for (WeightTile t : {WeightTile{3, 8}, WeightTile{2, 9}})
    if (padded_vecs(vecs, t.vecs) < padded_vecs(vecs, best.vecs)) best = t;
  return best;
}

bool weight_grad(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                 float* scratch) {
  return weight_grad_if<Avx512, 4, 6>(p, x, dy, acc, scratch) ||
         weight_grad_if<Avx512, 3, 8>(p, x, dy, acc, scratch) ||
         weight_grad_if<Avx512, 2, 9>(p, x, dy, acc, scratch) ||
         weight_grad_if<Avx512, 1, 9>(p, x, dy, acc, scratch) ||
         pixel_weight_grad_if<Avx512, 4, 6>(p, x, dy, acc, scratch);
}

constexpr Conv2dIsa kAvx512{"avx512", 16, direct_tile, weight_tile, direct, weight_grad};

}  // namespace

const Conv2dIsa& conv2d_avx512() {
  return kAvx512;
}

}  // namespace prism::kernels

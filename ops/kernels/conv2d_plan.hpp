// Blocking plans of the SIMD convolution kernels, computed once per shape and kept apart from
// the code that runs them (conv2d_simd.hpp). Apart from the vector width they are the same for
// every ISA. This file also holds the scalar packing loops the kernels call: they move data,
// they do no arithmetic, so they need no ISA flags.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/kernels/conv2d_reference.hpp"

namespace prism::kernels {

// One register tile of the direct kernel: `noc` output-channel vectors times `segs` runs of
// `seg_len` neighbouring output pixels of one row. Each run has its own source pointer, so a
// tile can span rows and images; that keeps tiles full when rows are only 2 or 4 wide.
struct DirectTile {
  int noc, segs, seg_len;
};

// A direct convolution over a zero-padded copy of the source, packed one chunk of images at a
// time:
//   out[n, o, y, x] = sum over i, a, b of src[n, i, y * stride + a, x * stride + b] * w(o, i, a, b)
// where src is the input scattered into a zero plane hs x ws, input pixel (r, c) landing at
// (pad_top + r * dil, pad_left + c * dil). Forward is dil = 1 with the conv's padding;
// backward-data is a stride-1 convolution of the output gradient dilated by the conv's stride,
// padded by kernel - 1 - pad, with the kernel flipped and transposed.
struct DirectPlan {
  int64_t n, in_c, out_c, kh, kw, stride;
  int64_t in_h, in_w, dil, pad_top, pad_left;
  int64_t hs, ws;  // packed plane
  int64_t out_h, out_w;
  int64_t row_lo, row_hi;  // packed rows that can hold data; taps outside them are skipped
  int lanes;
  DirectTile tile;
  int64_t group_width;   // output channels per group: tile.noc * lanes
  int64_t groups;        // ceil(out_c / group_width)
  int64_t group_floats;  // packed weights of one group: kh * in_c * kw * group_width
  int64_t images_per_chunk, chunks;
  int64_t segs_per_row;             // ceil(out_w / seg_len)
  int64_t chunk_floats;             // one packed chunk, plus slack that tail runs may read
  int64_t thread_floats;            // scratch per thread: a chunk and a tile
  std::vector<int64_t> tap_offset;  // [kh][in_c][kw]: where the tap lies in a packed image
  // The packed weight of (o, i, a, b) is w_base[o * w_o + i * w_i + a * w_a + b * w_b].
  int64_t w_base, w_o, w_i, w_a, w_b;

  int64_t plane() const { return hs * ws; }
  int64_t taps_per_row() const { return in_c * kw; }
};

// The tile for `lanes`-wide vectors (16: AVX-512's 32 registers, 8: AVX2's 16): 24 or 12 sums.
// The ISA files compile exactly these tiles.
DirectTile choose_direct_tile(int lanes, int64_t out_c, int64_t out_w, int64_t stride);
DirectPlan make_forward_plan(const ConvShape& s, int lanes);
DirectPlan make_backward_data_plan(const ConvShape& s, int lanes);

// Weights as the direct kernel reads them, [group][a][i][b][group_width] (zero past out_c),
// into out[groups * group_floats].
void pack_direct_weights(const DirectPlan& p, const float* w, float* out);
// Packs images [chunk * images_per_chunk, ...) of src[N, in_c, in_h, in_w], planes
// [first, last) of the chunk, into dst (zeros around and between the data).
void pack_direct_source(const DirectPlan& p, const float* src, int64_t chunk, int64_t first,
                        int64_t last, float* dst);

// Backward-weights: dw[k, tap] = sum over pixels q of dy[q, k] * x_packed[pixel(q) + tap], with
// taps in (c, kh, kw) order, so a tap's index is its place in a row of dw. A register tile holds
// `vecs` output-channel vectors times `taps` taps, summed over a chunk's pixels at a time.
struct WeightTile {
  int vecs, taps;
};

struct WeightGradPlan {
  ConvShape s;
  DirectPlan src;  // the forward plan: how x is packed
  int lanes;
  WeightTile tile;
  int64_t group_width;                 // output channels per tile: vecs * lanes
  int64_t k_groups, tap_groups, taps;  // taps = c * kh * kw
  int64_t images_per_chunk, chunks, chunk_pixels;
  int64_t dy_floats;      // one packed chunk of dy: [k_group][pixel][group_width]
  int64_t acc_floats;     // the sums: [k_group][tap_group][tap][group_width]
  int64_t thread_floats;  // a packed chunk of x and of dy, and one chunk's sums
  // Threads take whole chunks when there are at least two each (no thread then reads what
  // another core packed); else they share each chunk. Either way dw is the same, bit for bit.
  bool own_chunks;
  std::vector<int64_t> tap_offset;  // [taps rounded up to the tile]
};

WeightTile choose_weight_tile(int lanes, int64_t k);
// For `threads` OpenMP threads (own_chunks depends on it, nothing else does).
WeightGradPlan make_weight_grad_plan(const ConvShape& s, int lanes, int threads);
// Packs chunk `chunk` of dy[N, K, Ho, Wo] into dst, rows [first, last) of the
// k_groups * images_per_chunk * group_width rows (one channel of one image each).
void pack_weight_grad_dy(const WeightGradPlan& p, const float* dy, int64_t chunk, int64_t first,
                         int64_t last, float* dst);
// Where each pixel of a chunk starts in the packed x: [chunk_pixels].
std::vector<int64_t> weight_grad_pixels(const WeightGradPlan& p);
// dw[K, C, kh, kw] from the tile sums acc[k_group][tap_group][tap][group_width].
void unpack_weight_grad(const WeightGradPlan& p, const float* acc, float* dw);

}  // namespace prism::kernels

// Blocking plans of the SIMD convolution kernels (oneDNN's "conf"): plain structs computed once
// per shape, kept apart from the code that runs them (conv2d_simd.hpp) and from the loops that
// pack their operands (conv2d_pack.hpp). Apart from the vector width and the register tile,
// which each ISA file chooses for itself (conv2d_isa.hpp), they are the same for every ISA.
// Each plan also says how much scratch its pass needs and where each buffer lies in it, so
// the scratch is sized and carved by the same lines.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/kernels/conv2d_shape.hpp"

namespace prism::kernels {

struct Conv2dIsa;

// One register tile of the direct kernel, of one of two kinds:
// - channel vectors (the usual): `noc` vectors of output channels times `segs` runs of `seg_len`
//   neighbouring output pixels of one row; every FMA broadcasts one source value. Each run has
//   its own source pointer, so a tile can span rows and images; that keeps tiles full when rows
//   are only 2 or 4 wide. Its output goes through a stage, transposed into NCHW.
// - pixel vectors (`along_pixels`), for few output channels or few taps (the ISA file says
//   which): `noc` output channels, each weight
//   broadcast, times `segs` vectors of `seg_len` = lanes neighbouring output pixels of one row,
//   stored straight into NCHW. With one channel vector the other kind needs a broadcast per
//   FMA (13 loads for 12 FMAs on AVX-512); this one needs noc + segs loads for noc * segs.
//   A row's last vector ends at its last pixel, overlapping the one before (the same sums
//   again), so it needs stride 1 along rows and rows of at least `lanes` pixels.
struct DirectTile {
  int noc, segs, seg_len;
  bool along_pixels = false;
};

// A direct convolution over a zero-padded copy of the source, packed one chunk of images at a
// time:
//   out[n, o, y, x] = sum over i, a, b of
//                     src[n, i, y * stride_h + a * dil_h, x * stride_w + b * dil_w] * w(o, i, a, b)
// where src is the input placed in a zero plane hs x ws, input pixel (r, c) landing at
// (pad_top + r, pad_left + c); a negative pad crops. Forward is the conv itself; backward-data
// is, for each output phase, a stride-1 convolution of the output gradient with the phase's
// taps, flipped and transposed (BackwardDataPhase).
struct DirectPlan {
  int64_t n, in_c, out_c, kh, kw, stride_h, stride_w, dil_h, dil_w;
  int64_t in_h, in_w, pad_top, pad_left;
  int64_t hs, ws;  // packed plane
  int64_t out_h, out_w;
  // Where output (0, 0)'s window starts in the packed plane: (0, 0), unless phases of a
  // backward-data pass share one plane (BackwardDataPlan). Its taps' offsets include it.
  int64_t shift_h = 0, shift_w = 0;
  // The packed rows that can hold data, counted from the window's start; taps outside them are
  // skipped.
  int64_t row_lo, row_hi;
  int64_t col_lo, col_hi;  // the same for packed columns
  int lanes;
  DirectTile tile;
  int64_t group_width;   // output channels per group: tile.noc * lanes (tile.noc along pixels)
  int64_t groups;        // ceil(out_c / group_width)
  int64_t group_floats;  // packed weights of one group: kh * in_c * kw * group_width
  // Images are packed a chunk at a time: as many as keep a chunk and its stage (and, for
  // backward-data's phases, every phase's output) within chunk_bytes, a share of L2
  // (core/caches.hpp), or one tile's worth when fewer do not fill it.
  int64_t chunk_bytes;
  int64_t images_per_chunk, chunks;
  int64_t segs_per_row;  // ceil(out_w / seg_len)
  // Runs of one pixel go image by image at each output pixel, so a tile's runs share their
  // pixel and skip the same padding rows and columns; longer runs go along a row.
  bool runs_across_images;
  // Where packed value (image b, channel i, packed pixel q) lies in a chunk:
  // b * image_stride + i * channel_stride + q * pixel_stride. Planes one after another
  // (image_stride in_c * plane, pixel_stride 1), or, for runs across images, images innermost
  // (image_stride 1), so a tile's broadcasts come from one cache line.
  int64_t image_stride, channel_stride, pixel_stride;
  // Packed pixel (row, col) is pixel at(row, col) of its plane: row * ws + col, or, with
  // column phases (col_phases > 1, ws a multiple of it), in sub-plane col % col_phases, whose
  // rows are ws / col_phases wide: a strided row's pixels then lie side by side, as the
  // pixel-vector weight tile reads them at a stride.
  int64_t col_phases = 1;
  // The source needs no packing: its planes are the packed ones (no padding, plane by plane),
  // and no tile reads past a plane's end. A chunk is then read where it lies.
  bool in_place;
  int64_t chunk_floats;  // one packed chunk, plus slack that tail runs may read (0 in place)
  int64_t stage_floats;  // the tiles' output for one chunk and group (none along pixels)
  // [kh][kw][in_c]: where the tap lies in a packed image. A kernel position's taps are
  // contiguous, so a tile skips a padding row or column as one block of in_c taps.
  std::vector<int64_t> tap_offset;
  // The packed weight of (o, i, a, b) is w_base[o * w_o + i * w_i + a * w_a + b * w_b].
  int64_t w_base, w_o, w_i, w_a, w_b;

  int64_t plane() const { return hs * ws; }
  int64_t at(int64_t row, int64_t col) const;
  int64_t taps_per_row() const { return in_c * kw; }
  int64_t tap_of(int64_t a, int64_t b) const { return (a * kw + b) * in_c; }  // the first, i = 0

  // Scratch: per thread, a packed chunk then its stage. (Defined in conv2d_plan.cpp, like
  // every function the ISA files call: code compiled with ISA flags must not be shared.)
  int64_t scratch_floats(int threads) const;
  float* chunk_of(float* scratch, int thread) const;
  float* stage_of(float* scratch, int thread) const;
  // Packed weights: `groups` blocks of group_floats.
  int64_t packed_weight_floats() const { return groups * group_floats; }
};

DirectPlan make_forward_plan(const ConvShape& s, const Conv2dIsa& isa);

// Backward-data one output phase at a time (the decomposition of a strided transposed
// convolution that oneDNN and cuDNN use): the dx pixels (py + r * sh, px + q * sw) get sums
// only from the kernel rows a with (py + ph - a * dil_h) divisible by sh, and the columns
// alike, each reading dy itself, not dy spread out with zeros between its pixels: a stride-1
// convolution of dy with those taps. sh x sw phases, each pixel of dx in one; at stride 1 a
// single phase, the whole dx. A phase that no tap reaches (a 1x1 kernel at stride 2 reaches
// only even rows and columns) is zeros.
struct BackwardDataPhase {
  int64_t py, px;      // the phase's first dx row and column
  int64_t rows, cols;  // its pixels: ceil((h - py) / sh) x ceil((w - px) / sw)
  bool has_taps;
  DirectPlan direct;  // with taps: dy -> the phase's pixels, [N, C, rows, cols]
  // Where, in a thread's scratch (BackwardDataPlan), the phase finds its packed chunk of dy
  // (shared with an earlier phase whose packing is the same), its stage and its output.
  int64_t chunk_at = 0, stage_at = 0, out_at = 0;
  bool packs = false;  // it packs the chunk itself (the first phase of its packing)
};

// With more than one phase, the phases go a chunk of images at a time, so what a chunk touches
// stays in L2: dy packed once into a plane every phase reads (each from its own shift: the
// padding is the largest any phase needs), each phase's output into a buffer of the chunk's
// pixels, then the chunk's dx rows put together from those. (Phase after phase over the whole
// batch, dy was packed once per phase and every phase's output went through memory: half of
// the pass on ResNet's 3x3 stride-2 convolutions.) Threads split the images.
struct BackwardDataPlan {
  ConvShape s;
  std::vector<BackwardDataPhase> phases;  // numbered py * phase_cols + px
  int64_t phase_cols;                     // min(sw, w)
  int64_t images_per_chunk;               // of every phase's plan
  int64_t thread_floats;                  // one thread's scratch (0 with a single phase)
};
BackwardDataPlan make_backward_data_plan(const ConvShape& s, const Conv2dIsa& isa);

// Backward-weights: dw[k, tap] = sum over pixels q of dy[q, k] * x_packed[pixel(q) + tap], in
// one of two kinds of register tile:
// - channel vectors (the usual): `vecs` vectors of output channels times `taps` taps, with taps
//   in (kh, kw, c) order, so the taps of one tile mostly share their kernel position. Summed
//   over the pixels of a chunk where some of its taps meet data: at a kernel position, the
//   pixels whose window puts it on the padding add nothing (on 4x4 outputs of a 3x3 kernel,
//   31% of all pixel-tap pairs). dy is packed [k_group][pixel][group_width].
// - pixel vectors (`along_pixels`), for few output channels on rows of at least `lanes` pixels:
//   `vecs` output channels times `taps` taps, with taps in dw's (c, kh, kw) order; each sum is
//   a vector over `lanes` neighbouring pixels of a row (the row's ragged end masked), reduced to
//   one value only at the end. It reads dy in place, NCHW, and x packed plane by plane (in
//   column phases at a stride): no transposes, and no channel vector padded (K = 16 took one
//   channel vector and 10 loads for 9 FMAs; this takes 10 for 24).
struct WeightTile {
  int vecs, taps;
  bool along_pixels = false;
};

// The pixels one tap group sums over in every chunk: live_pixels[first, first + count). A short
// last chunk sums its missing images too, whose x and dy are packed as zeros.
struct PixelRange {
  int64_t first, count;
};

struct WeightGradPlan {
  ConvShape s;
  DirectPlan src;  // the forward plan: how x is packed
  int lanes;
  WeightTile tile;
  int64_t group_width;  // output channels per tile: vecs * lanes (vecs along pixels)
  int64_t x_row;        // along pixels: from the packed x of one output row's pixels to the next's
  int64_t k_groups, tap_groups, taps;  // taps = c * kh * kw
  int64_t images_per_chunk, chunks, chunk_pixels;
  int64_t dy_floats;  // one packed chunk of dy: [k_group][pixel][group_width] (none along pixels)
  // The sums: [k_group][tap_group][tap][group_width], or along pixels
  // [k_group][tap_group][channel][tap][lanes], a vector of each.
  int64_t acc_floats;
  // Threads take whole chunks when there are at least two each (no thread then reads what
  // another core packed); else they share each chunk. Along pixels, threads take tiles, tap
  // group by tap group, and each packs the input channels of its taps in every chunk. Either
  // way dw is the same, bit for bit.
  bool own_chunks;
  int threads;                           // the OpenMP threads the plan was made for
  std::vector<int64_t> tap_offset;       // [taps rounded up to the tile]
  std::vector<int64_t> pixel_at;         // [chunk_pixels]: where pixel q starts in the packed x
  std::vector<int64_t> live_pixels;      // pixel indices q, the groups' ranges one after another
  std::vector<PixelRange> group_pixels;  // [tap_groups]

  // Scratch: one block per thread when threads own chunks or go along pixels, else one block
  // they share; a block holds a packed chunk of x, one of dy, and one chunk's sums (only x
  // along pixels).
  struct Buffers {
    float *x, *dy, *part;
  };
  int64_t block_floats() const;
  int64_t scratch_floats() const;
  Buffers buffers_of(float* scratch, int thread) const;
};

// For `threads` OpenMP threads (own_chunks depends on it, nothing else does).
WeightGradPlan make_weight_grad_plan(const ConvShape& s, const Conv2dIsa& isa, int threads);

}  // namespace prism::kernels

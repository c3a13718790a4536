// The SIMD convolution kernels, written once over an ISA's vector type `I` (see
// conv2d_avx512.cpp and conv2d_avx2.cpp, the only files that include this one).
//
// Everything here is in an unnamed namespace on purpose: each ISA file compiles its own copy
// with its own flags, and none of it may be shared with code built for another ISA.
//
// I provides: V (the vector type), lanes, zero(), load(p), load_first(p, n) (the first n lanes,
// zeros above), store(p, v), bcast(p), fma(a, b, c), add(a, b), and transpose_store and
// transpose_rows (a lanes x lanes block, transposed).
#pragma once

#include <omp.h>

#include <cstdint>

#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_pack.hpp"
#include "ops/kernels/conv2d_plan.hpp"

namespace prism::kernels {
namespace {

inline int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}
inline int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}

// The images in chunk c of a backward-weights pass (the last may be short).
inline int64_t chunk_images(const WeightGradPlan& p, int64_t c) {
  return min64(p.images_per_chunk, p.s.n - c * p.images_per_chunk);
}

// Kernel rows (or columns) a, at offset a * dil from a run's first pixel, meet data from the
// first one at offset >= lo, and until the last one at offset <= hi.
inline int64_t first_live_tap(int64_t lo, int64_t dil) {
  return lo <= 0 ? 0 : (lo + dil - 1) / dil;
}
inline int64_t live_taps_below(int64_t hi, int64_t dil, int64_t taps) {
  return hi < 0 ? 0 : min64(taps, hi / dil + 1);
}

// The taps a tile runs, the kernel rows and columns that meet data for some pixel of it:
// `count` blocks of `length` contiguous taps, block k starting at tap first + k * stride.
struct TapBlocks {
  int64_t first, count, stride, length;
};

// The kernel rows and columns that meet data for some pixel of a tile, gathered run by run
// (output row y, pixels x0..x1), and the TapBlocks that run just those.
struct LiveTaps {
  int64_t a_lo, a_hi, b_lo, b_hi;

  explicit LiveTaps(const DirectPlan& p) : a_lo(p.kh), a_hi(0), b_lo(p.kw), b_hi(0) {}
  void add(const DirectPlan& p, int64_t y, int64_t x0, int64_t x1) {
    a_lo = min64(a_lo, first_live_tap(p.row_lo - y * p.stride_h, p.dil_h));
    a_hi = max64(a_hi, live_taps_below(p.row_hi - y * p.stride_h, p.dil_h, p.kh));
    b_lo = min64(b_lo, first_live_tap(p.col_lo - x1 * p.stride_w, p.dil_w));
    b_hi = max64(b_hi, live_taps_below(p.col_hi - x0 * p.stride_w, p.dil_w, p.kw));
  }
  TapBlocks blocks(const DirectPlan& p) const {
    const int64_t per_row = p.taps_per_row();
    TapBlocks b{p.tap_of(a_lo, b_lo), a_hi - a_lo, per_row, (b_hi - b_lo) * p.in_c};
    if (a_hi <= a_lo || b_hi <= b_lo)
      b.count = 0;
    else if (b_lo == 0 && b_hi == p.kw)  // whole kernel rows are one block
      b.count = 1, b.length = (a_hi - a_lo) * per_row;
    return b;
  }
};

// Calls tap(offset, weights) for every tap the blocks hold, in order: its offset from a run's
// first pixel, and its packed weights, `step` floats after the previous tap's.
template <class Tap>
inline void for_each_tap(const TapBlocks& blocks, const int64_t* tap_offset, const float* w,
                         int64_t step, const Tap& tap) {
  for (int64_t k = 0; k < blocks.count; ++k) {
    const int64_t first = blocks.first + k * blocks.stride;
    const float* wt = w + first * step;
    const int64_t* offsets = tap_offset + first;
    for (int64_t t = 0; t < blocks.length; ++t, wt += step)
      tap(offsets[t], wt);
  }
}

// One register tile of the direct kernel: NOC vectors of output channels times R runs of WT
// pixels (S apart in the source). For each tap it loads NOC weight vectors and broadcasts one
// source value per pixel; the sums stay in registers over every tap. Run r's sums go to
// out[r] as [WT][gw], the first NOC * lanes of each gw. w: the packed weights of tap 0, gw
// apart from tap to tap (a group's last tile may take fewer vectors than the group is wide).
template <class I, int NOC, int R, int WT, int S>
void direct_tile(const float* const* run, const int64_t* tap_offset, const TapBlocks& blocks,
                 const float* w, int64_t gw, float* const* out) {
  using V = typename I::V;
  constexpr int L = I::lanes;
  V acc[NOC][R * WT];
#pragma GCC unroll 32
  for (int j = 0; j < NOC; ++j)
#pragma GCC unroll 32
    for (int q = 0; q < R * WT; ++q)
      acc[j][q] = I::zero();
  const float* src[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    src[r] = run[r];
  for_each_tap(blocks, tap_offset, w, gw, [&](int64_t off, const float* wt) {
    V wv[NOC];
#pragma GCC unroll 4
    for (int j = 0; j < NOC; ++j)
      wv[j] = I::load(wt + j * L);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int x = 0; x < WT; ++x) {
        const V v = I::bcast(src[r] + off + x * S);
#pragma GCC unroll 4
        for (int j = 0; j < NOC; ++j)
          acc[j][r * WT + x] = I::fma(v, wv[j], acc[j][r * WT + x]);
      }
  });
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int x = 0; x < WT; ++x)
#pragma GCC unroll 4
      for (int j = 0; j < NOC; ++j)
        I::store(out[r] + x * gw + j * L, acc[j][r * WT + x]);
}

// One output-channel group of one packed chunk: its runs, R at a time, through the tile into
// the stage ([image][row][slot][group_width], a slot per pixel of a run), then the stage (plus
// bias) into the NCHW output a channel row at a time. Writing the tiles straight to NCHW would
// touch group_width planes at once, which thrash one cache set when a plane is 4 KiB.
// Runs are taken row by row, so a tile's runs share their output row; runs of one pixel go
// across the chunk's images at each pixel, so they share the pixel too. A tile skips the
// kernel rows and columns that meet data for none of its pixels.
template <class I, int NOC, int R, int WT, int S>
void direct_group(const DirectPlan& p, const PackedChunk& chunk, int64_t g, const float* w,
                  const float* bias, float* out, float* stage) {
  const int64_t images = chunk.images;
  const int64_t runs_per_row = images * p.segs_per_row, runs = runs_per_row * p.out_h;
  const int64_t gw = p.group_width, slots = p.segs_per_row * WT;
  for (int64_t r0 = 0; r0 < runs; r0 += R) {
    const float* run[R];
    float* to[R];
    LiveTaps live(p);
    for (int r = 0; r < R; ++r) {
      const int64_t i = r0 + r;
      if (i >= runs) {  // a short last tile: repeat a real run, which rewrites the same sums
        run[r] = run[0], to[r] = to[0];
        continue;
      }
      const int64_t y = i / runs_per_row, in_row = i % runs_per_row;
      const int64_t b = p.runs_across_images ? in_row % images : in_row / p.segs_per_row;
      const int64_t seg = p.runs_across_images ? in_row / images : in_row % p.segs_per_row;
      const int64_t x0 = seg * WT, x1 = min64(x0 + WT, p.out_w) - 1;  // the run's pixels
      run[r] = chunk.data + b * p.image_stride +
               (y * p.stride_h * p.ws + x0 * p.stride_w) * p.pixel_stride;
      to[r] = stage + ((b * p.out_h + y) * slots + x0) * gw;
      live.add(p, y, x0, x1);
    }
    const TapBlocks blocks = live.blocks(p);
    direct_tile<I, NOC, R, WT, S>(run, p.tap_offset.data(), blocks, w, gw, to);
  }
  // The stage (plus bias) into NCHW: lanes x lanes blocks of (pixel, channel), transposed. A
  // block's pixels may span rows, whose slots past out_w are skipped, so one path serves every
  // width (odd widths had a scalar copy of their own).
  constexpr int L = I::lanes;
  const int64_t o0 = g * gw, width = min64(gw, p.out_c - o0), pixels = p.out_h * p.out_w;
  for (int64_t b = 0; b < images; ++b) {
    float* to = out + (b * p.out_c + o0) * pixels;
    for (int64_t q = 0; q < pixels; q += L) {
      const int64_t count = min64(L, pixels - q);
      const float* pixel[L];
      for (int64_t i = 0; i < count; ++i)
        pixel[i] = stage + ((b * p.out_h + (q + i) / p.out_w) * slots + (q + i) % p.out_w) * gw;
      for (int64_t j = 0; j < width; j += L) {
        if (j + L <= width && count == L) {
          const float* rows[L];
          for (int i = 0; i < L; ++i)
            rows[i] = pixel[i] + j;
          I::transpose_rows(rows, to + j * pixels + q, pixels, bias ? bias + o0 + j : nullptr);
          continue;
        }
        for (int64_t jj = j; jj < min64(j + L, width); ++jj)  // a ragged edge
          for (int64_t i = 0; i < count; ++i)
            to[jj * pixels + q + i] = pixel[i][jj] + (bias ? bias[o0 + jj] : 0.0f);
      }
    }
  }
}

// The pixel-vector tile: KT output channels times R vectors of `lanes` neighbouring output
// pixels, each vector from its own source pointer. Per tap it loads R source vectors and
// broadcasts KT weights (packed [tap][KT]); the sums stay in registers over every tap. Channel
// j < channels of vector r goes to out[r] + j * plane, plus bias[j] if bias is not null.
template <class I, int KT, int R>
void pixel_tile(const float* const* run, const int64_t* tap_offset, const TapBlocks& blocks,
                const float* w, float* const* out, int64_t plane, int64_t channels,
                const float* bias) {
  using V = typename I::V;
  V acc[KT][R];
#pragma GCC unroll 16
  for (int j = 0; j < KT; ++j)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      acc[j][r] = I::zero();
  const float* src[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    src[r] = run[r];
  for_each_tap(blocks, tap_offset, w, KT, [&](int64_t off, const float* wt) {
    V v[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      v[r] = I::load(src[r] + off);
#pragma GCC unroll 16
    for (int j = 0; j < KT; ++j) {
      const V wv = I::bcast(wt + j);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
        acc[j][r] = I::fma(v[r], wv, acc[j][r]);
    }
  });
#pragma GCC unroll 16
  for (int j = 0; j < KT; ++j) {
    if (j >= channels) break;
    const V b = bias ? I::bcast(bias + j) : I::zero();
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      I::store(out[r] + j * plane, I::add(acc[j][r], b));
  }
}

// One output-channel group of one packed chunk through the pixel-vector tile, straight into
// the NCHW output: vectors go row by row, image by image, R to a tile (which may span rows
// and images); a row's last vector ends at its last pixel.
template <class I, int KT, int R>
void pixel_group(const DirectPlan& p, const PackedChunk& chunk, int64_t g, const float* w,
                 const float* bias, float* out) {
  constexpr int L = I::lanes;
  const int64_t per_image = p.out_h * p.segs_per_row, runs = chunk.images * per_image;
  const int64_t o0 = g * p.group_width, channels = min64(p.group_width, p.out_c - o0);
  const int64_t plane = p.out_h * p.out_w;
  for (int64_t r0 = 0; r0 < runs; r0 += R) {
    const float* run[R];
    float* to[R];
    LiveTaps live(p);
    for (int r = 0; r < R; ++r) {
      const int64_t i = r0 + r;
      if (i >= runs) {  // a short last tile: repeat a real vector, which rewrites the same sums
        run[r] = run[0], to[r] = to[0];
        continue;
      }
      const int64_t b = i / per_image, y = i % per_image / p.segs_per_row;
      const int64_t x0 = min64(i % p.segs_per_row * L, p.out_w - L);
      run[r] = chunk.data + b * p.image_stride + y * p.stride_h * p.ws + x0;
      to[r] = out + (b * p.out_c + o0) * plane + y * p.out_w + x0;
      live.add(p, y, x0, x0 + L - 1);
    }
    pixel_tile<I, KT, R>(run, p.tap_offset.data(), live.blocks(p), w, to, plane, channels,
                         bias ? bias + o0 : nullptr);
  }
}

// The channel-vector tiles' groups [g0, g1) of one chunk. A last group of two-vector tiles
// with no more than one vector of channels left (72 = 2 x 32 + 8) takes one-vector tiles, which
// skip the padding's FMAs (80 channels' worth where 96 were run).
template <class I, int NOC, int R, int WT, int S>
void channel_groups(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1,
                    const float* w, const float* bias, float* out, float* stage) {
  const bool narrow_last = NOC == 2 && p.out_c - (p.groups - 1) * p.group_width <= I::lanes;
  for (int64_t g = g0; g < g1; ++g) {
    const float* wg = w + g * p.group_floats;
    if (narrow_last && g == p.groups - 1)
      direct_group<I, 1, R, WT, S>(p, chunk, g, wg, bias, out, stage);
    else
      direct_group<I, NOC, R, WT, S>(p, chunk, g, wg, bias, out, stage);
  }
}

// Runs the plan if its tile is <R, WT>; false if not, or if no instantiation fits its column
// stride (strides above 2 need runs of one pixel, where the stride only moves the run's
// pointer). Row strides need no instantiation: they only move the runs' pointers.
// Errors are raised by the caller: this file must not instantiate library templates.
template <class I, int NOC, int R, int WT>
bool direct_strided(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1,
                    const float* w, const float* bias, float* out, float* stage) {
  if (WT == 1 || p.stride_w == 1)
    channel_groups<I, NOC, R, WT, 1>(p, chunk, g0, g1, w, bias, out, stage);
  else if (p.stride_w == 2)
    channel_groups<I, NOC, R, WT, 2>(p, chunk, g0, g1, w, bias, out, stage);
  else
    return false;
  return true;
}

template <class I, int R, int WT>
bool direct_if(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1,
               const float* w, const float* bias, float* out, float* stage) {
  if (p.tile.along_pixels || p.tile.segs != R || p.tile.seg_len != WT) return false;
  if (p.tile.noc == 1) return direct_strided<I, 1, R, WT>(p, chunk, g0, g1, w, bias, out, stage);
  if (p.tile.noc == 2) return direct_strided<I, 2, R, WT>(p, chunk, g0, g1, w, bias, out, stage);
  return false;
}

// Runs the plan if its tile is KT channels x R pixel vectors; false if not, or if its rows are
// narrower than a vector or strided (the tile cannot run them: a plan that asks is a bug).
template <class I, int KT, int R>
bool pixel_if(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1, const float* w,
              const float* bias, float* out, float*) {
  if (!p.tile.along_pixels || p.tile.noc != KT || p.tile.segs != R) return false;
  if (p.out_w < I::lanes || p.stride_w != 1) return false;
  for (int64_t g = g0; g < g1; ++g)
    pixel_group<I, KT, R>(p, chunk, g, w + g * p.group_floats, bias, out);
  return true;
}

// dw tile: VECS vectors of output channels times T taps, summed over the pixels live[0, count)
// of a chunk. Per pixel it loads VECS vectors of dy and broadcasts one value of x per tap.
// acc is [T][VECS*lanes].
template <class I, int VECS, int T>
void weight_tile(const float* x, const int64_t* pixel_at, const int64_t* live, int64_t count,
                 const float* dy, const int64_t* tap_offset, float* acc) {
  using V = typename I::V;
  constexpr int L = I::lanes;
  V sum[T][VECS];
  const float* tap[T];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    tap[t] = x + tap_offset[t];
#pragma GCC unroll 4
    for (int j = 0; j < VECS; ++j)
      sum[t][j] = I::load(acc + (t * VECS + j) * L);
  }
  for (int64_t k = 0; k < count; ++k) {
    const int64_t q = live[k], at = pixel_at[q];
    V d[VECS];
#pragma GCC unroll 4
    for (int j = 0; j < VECS; ++j)
      d[j] = I::load(dy + (q * VECS + j) * L);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const V v = I::bcast(tap[t] + at);
#pragma GCC unroll 4
      for (int j = 0; j < VECS; ++j)
        sum[t][j] = I::fma(v, d[j], sum[t][j]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int j = 0; j < VECS; ++j)
      I::store(acc + (t * VECS + j) * L, sum[t][j]);
}

// Chunk `chunk` of dy[N, K, Ho, Wo] as the weight tiles read it, [k_group][pixel][group_width]
// (zeros past K and past the last image): blocks [first, last) of the chunk's
// k_groups * images_per_chunk * group_width / lanes blocks of `lanes` channels of one image,
// each transposed lanes x lanes pixels at a time, so every store fills whole vectors.
template <class I>
void pack_weight_grad_dy(const WeightGradPlan& p, const float* dy, int64_t chunk, int64_t first,
                         int64_t last, float* dst) {
  constexpr int L = I::lanes;
  const ConvShape& s = p.s;
  const int64_t plane = s.ho * s.wo, gw = p.group_width, per_group = gw / L;
  for (int64_t u = first; u < last; ++u) {
    const int64_t g = u / (p.images_per_chunk * per_group), b = u / per_group % p.images_per_chunk;
    const int64_t j0 = u % per_group * L, k0 = g * gw + j0, n = chunk * p.images_per_chunk + b;
    float* col = dst + (g * p.chunk_pixels + b * plane) * gw + j0;
    const int64_t width = n < s.n ? max64(0, min64(L, s.k - k0)) : 0;  // channels with data
    const float* from = width > 0 ? dy + (n * s.k + k0) * plane : nullptr;
    int64_t q = 0;
    if (width == L)
      for (; q + L <= plane; q += L)
        I::transpose_store(from + q, plane, col + q * gw, gw, nullptr);
    for (; q < plane; ++q)  // ragged pixels, channels past K, images past N
      for (int64_t j = 0; j < L; ++j)
        col[q * gw + j] = j < width ? from[j * plane + q] : 0.0f;
  }
}

// Tiles [first, last) of one chunk's sums, each from zero, into part (laid out as acc).
template <class I, int VECS, int T>
void weight_chunk_tiles(const WeightGradPlan& p, const float* xbuf, const float* dybuf,
                        int64_t first, int64_t last, float* part) {
  const int64_t gw = p.group_width, tile_floats = T * gw;
  for (int64_t q = first; q < last; ++q) {
    const int64_t g = q / p.tap_groups, tg = q % p.tap_groups;
    const PixelRange live = p.group_pixels[tg];
    float* sums = part + q * tile_floats;      // q = g * tap_groups + tg
    for (int64_t i = 0; i < tile_floats; ++i)  // not std::fill: see direct_strided
      sums[i] = 0.0f;
    weight_tile<I, VECS, T>(xbuf, p.pixel_at.data(), p.live_pixels.data() + live.first, live.count,
                            dybuf + g * p.chunk_pixels * gw, p.tap_offset.data() + tg * T, sums);
  }
}

// The whole backward-weights pass. Each chunk's sums start from zero and are added to acc in
// chunk order, however the work is split, so dw does not depend on the thread count:
// - own_chunks: each thread packs and sums whole chunks in its own buffers (nothing it reads
//   was written by another core), then adds them to acc in chunk order;
// - otherwise all threads pack a chunk together and split its tiles, then its sums.
// scratch: p.scratch_floats(), carved by p.buffers_of. Chunk 0 writes all of acc.
template <class I, int VECS, int T>
void weight_grad_pass(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                      float* scratch) {
  const int64_t tiles = p.k_groups * p.tap_groups, planes = p.images_per_chunk * p.s.c;
  const int64_t dy_blocks = p.k_groups * p.images_per_chunk * p.group_width / I::lanes;
  const int64_t acc_floats = p.acc_floats;
  auto add = [](float* to, const float* from, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      to[i] += from[i];
  };
  if (p.own_chunks) {
#pragma omp parallel
    {
      const WeightGradPlan::Buffers b = p.buffers_of(scratch, omp_get_thread_num());
      float *xbuf = b.x, *dybuf = b.dy, *part = b.part;
#pragma omp for schedule(static, 1) ordered
      for (int64_t c = 0; c < p.chunks; ++c) {
        pack_direct_source(p.src, x, c * p.images_per_chunk, chunk_images(p, c), 0, planes, xbuf);
        pack_weight_grad_dy<I>(p, dy, c, 0, dy_blocks, dybuf);
        // Chunk 0 goes straight to acc: 0 + its sums is its sums, and it is added first.
        weight_chunk_tiles<I, VECS, T>(p, xbuf, dybuf, 0, tiles, c == 0 ? acc : part);
#pragma omp ordered
        if (c > 0) add(acc, part, acc_floats);
      }
    }
    return;
  }
  const WeightGradPlan::Buffers b = p.buffers_of(scratch, 0);
  float *xbuf = b.x, *dybuf = b.dy, *part = b.part;
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t c = 0; c < p.chunks; ++c) {
      const int64_t ch = p.s.c, per = p.images_per_chunk;  // x is packed whole channels at a time
      pack_direct_source(p.src, x, c * per, chunk_images(p, c), ch * t / nt * per,
                         ch * (t + 1) / nt * per, xbuf);
      pack_weight_grad_dy<I>(p, dy, c, dy_blocks * t / nt, dy_blocks * (t + 1) / nt, dybuf);
#pragma omp barrier
      weight_chunk_tiles<I, VECS, T>(p, xbuf, dybuf, tiles * t / nt, tiles * (t + 1) / nt,
                                     c == 0 ? acc : part);
#pragma omp barrier
      const int64_t lo = acc_floats * t / nt, hi = acc_floats * (t + 1) / nt;
      if (c > 0) add(acc + lo, part + lo, hi - lo);  // done before this thread's next barrier
    }
  }
}

// The pixel-vector dw tile: KT output channels [k0, k0 + KT) times T taps, each sum a vector
// over `lanes` neighbouring pixels of a row, added over every pixel of one chunk to acc
// ([KT][T][lanes]). Per vector of pixels it loads KT vectors of dy and T of x. A row's
// ragged end loads only its pixels (zeros in the other lanes, of dy and x alike). Channels
// past K read channel K - 1, and their sums are dropped.
template <class I, int KT, int T>
void pixel_weight_tile(const WeightGradPlan& p, const float* xbuf, const float* dy, int64_t chunk,
                       int64_t k0, const int64_t* tap_offset, float* acc) {
  using V = typename I::V;
  constexpr int L = I::lanes;
  const ConvShape& s = p.s;
  V sum[KT][T];
#pragma GCC unroll 8
  for (int j = 0; j < KT; ++j)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      sum[j][t] = I::load(acc + (j * T + t) * L);
  const int64_t plane = s.ho * s.wo, full = s.wo / L * L, tail = s.wo - full;
  const int64_t images = chunk_images(p, chunk);
  const int64_t x_row = p.x_row;
  const float* d[KT];  // the current row of each channel's dy, and of each tap's x
  const float* x[T];
  auto step = [&](int64_t at, int64_t count) {
    V dv[KT];
#pragma GCC unroll 8
    for (int j = 0; j < KT; ++j)
      dv[j] = count == L ? I::load(d[j] + at) : I::load_first(d[j] + at, count);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const V xv = count == L ? I::load(x[t] + at) : I::load_first(x[t] + at, count);
#pragma GCC unroll 8
      for (int j = 0; j < KT; ++j)
        sum[j][t] = I::fma(dv[j], xv, sum[j][t]);
    }
  };
  for (int64_t b = 0; b < images; ++b) {
    const int64_t n = chunk * p.images_per_chunk + b;
#pragma GCC unroll 8
    for (int j = 0; j < KT; ++j)
      d[j] = dy + (n * s.k + min64(k0 + j, s.k - 1)) * plane;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      x[t] = xbuf + b * p.src.image_stride + tap_offset[t];
    for (int64_t y = 0; y < s.ho; ++y) {
      for (int64_t at = 0; at < full; at += L)
        step(at, L);
      if (tail > 0) step(full, tail);
#pragma GCC unroll 8
      for (int j = 0; j < KT; ++j)
        d[j] += s.wo;
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t)
        x[t] += x_row;
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < KT; ++j)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      I::store(acc + (j * T + t) * L, sum[j][t]);
}

// Backward-weights along pixels. Threads split the tiles, taken tap group by tap group, so a
// thread's tiles read a range of input channels, and each packs only those channels of every
// chunk of x into its own buffer (split by output channels, each packed all of x: at 2 threads,
// 1.9x oneDNN's time on ResNet's 16->32 at stride 2; sharing one packing, each core then
// reading what the other packed, was slower still). Each adds its tiles' sums for the chunk,
// chunk after chunk, so every sum is added in the same order at any thread count.
template <class I, int KT, int T>
void pixel_weight_grad_pass(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                            float* scratch) {
  const int64_t tiles = p.k_groups * p.tap_groups, tile_floats = KT * T * I::lanes;
  const int64_t c = p.s.c, window = p.s.kh * p.s.kw;
  for (int64_t i = 0; i < tiles * tile_floats; ++i)  // not std::fill: see direct_strided
    acc[i] = 0.0f;
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t first = tiles * t / nt, last = tiles * (t + 1) / nt;  // tap groups outer
    float* xbuf = p.buffers_of(scratch, static_cast<int>(t)).x;
    // The input channels of the share's taps (a tail group's spare taps repeat its last).
    const int64_t c_lo = first / p.k_groups * T / window;
    const int64_t c_hi = min64(c, ((last - 1) / p.k_groups * T + T - 1) / window + 1);
    for (int64_t chunk = 0; first < last && chunk < p.chunks; ++chunk) {
      for (int64_t b = 0; b < p.images_per_chunk; ++b)
        pack_direct_source(p.src, x, chunk * p.images_per_chunk, chunk_images(p, chunk),
                           b * c + c_lo, b * c + c_hi, xbuf);
      // Output channels outer: a tile's dy stays in L1 for the next tap group (tap groups
      // outer took 1.2x the time on 16->16@32 at 1 thread).
      for (int64_t g = 0; g < p.k_groups; ++g)
        for (int64_t tg = first / p.k_groups; tg <= (last - 1) / p.k_groups; ++tg) {
          const int64_t q = tg * p.k_groups + g;  // the share's order
          if (q < first || q >= last) continue;
          pixel_weight_tile<I, KT, T>(p, xbuf, dy, chunk, g * KT, p.tap_offset.data() + tg * T,
                                      acc + (g * p.tap_groups + tg) * tile_floats);
        }
    }
  }
}

// Channel vectors rounded up to whole tiles of `per_tile`.
inline int64_t padded_vecs(int64_t vecs, int64_t per_tile) {
  return (vecs + per_tile - 1) / per_tile * per_tile;
}

template <class I, int VECS, int T>
bool weight_grad_if(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                    float* scratch) {
  if (p.tile.along_pixels || p.tile.vecs != VECS || p.tile.taps != T) return false;
  weight_grad_pass<I, VECS, T>(p, x, dy, acc, scratch);
  return true;
}

template <class I, int KT, int T>
bool pixel_weight_grad_if(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                          float* scratch) {
  if (!p.tile.along_pixels || p.tile.vecs != KT || p.tile.taps != T) return false;
  if (p.src.col_phases != p.s.sw) return false;  // a vector's pixels must be neighbours in x
  pixel_weight_grad_pass<I, KT, T>(p, x, dy, acc, scratch);
  return true;
}

}  // namespace
}  // namespace prism::kernels

#include "ops/kernels/conv2d_plan.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace prism::kernels {

namespace {

constexpr int64_t kChunkBytes = 384 * 1024;  // a packed chunk stays in L2 next to a weight group

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

// Fills in everything that follows from the geometry set by the two plan makers.
void finish_direct_plan(DirectPlan& p, int lanes, DirectTile tile) {
  p.lanes = lanes;
  p.tile = tile;
  p.row_lo = std::max<int64_t>(0, p.pad_top);
  p.row_hi = std::min(p.hs - 1, p.pad_top + (p.in_h - 1) * p.dil);
  p.group_width = int64_t{tile.noc} * lanes;
  p.groups = ceil_div(p.out_c, p.group_width);
  p.group_floats = p.kh * p.in_c * p.kw * p.group_width;
  p.segs_per_row = ceil_div(p.out_w, tile.seg_len);
  // Whole tiles where possible: the runs of an output row across a chunk's images a multiple
  // of tile.segs (tiles go row by row).
  const int64_t stage_image = p.out_h * p.segs_per_row * tile.seg_len * p.group_width;
  const int64_t image_floats = p.in_c * p.plane() + stage_image;
  const int64_t unit = tile.segs / std::gcd<int64_t>(tile.segs, p.segs_per_row);
  const int64_t fit = std::max<int64_t>(1, kChunkBytes / 4 / image_floats);
  p.images_per_chunk = std::min(p.n, std::max(unit, fit / unit * unit));
  p.chunks = ceil_div(p.n, p.images_per_chunk);
  p.images_per_chunk = ceil_div(p.n, p.chunks);  // as even as the chunk count allows
  // A run shorter than seg_len still reads seg_len pixels, past the end of the last image.
  const int64_t slack = int64_t{tile.seg_len} * p.stride + p.kw + 16;
  p.chunk_floats = round_up(p.images_per_chunk * p.in_c * p.plane() + slack, 16);
  p.thread_floats = p.chunk_floats + round_up(p.images_per_chunk * stage_image, 16);
  p.tap_offset.clear();
  for (int64_t a = 0; a < p.kh; ++a)
    for (int64_t i = 0; i < p.in_c; ++i)
      for (int64_t b = 0; b < p.kw; ++b)
        p.tap_offset.push_back(i * p.plane() + a * p.ws + b);
}

}  // namespace

DirectTile choose_direct_tile(int lanes, int64_t out_c, int64_t out_w, int64_t stride) {
  const int noc = out_c > lanes ? 2 : 1;
  if (out_w == 1 || stride > 2) return {noc, 6, 1};
  if (lanes == 8) return {noc, 3, 2};
  return out_w < 4 ? DirectTile{noc, 6, 2} : DirectTile{noc, 3, 4};
}

WeightTile choose_weight_tile(int lanes, int64_t k) {
  const int64_t vecs = ceil_div(k, lanes);
  if (lanes == 16 && vecs % 4 == 0) return {4, 6};
  if (vecs % 2 == 0) return lanes == 16 ? WeightTile{2, 9} : WeightTile{2, 6};
  return {1, 9};
}

DirectPlan make_forward_plan(const ConvShape& s, int lanes) {
  DirectPlan p;
  p.n = s.n, p.in_c = s.c, p.out_c = s.k, p.kh = s.kh, p.kw = s.kw, p.stride = s.stride;
  p.in_h = s.h, p.in_w = s.w, p.dil = 1, p.pad_top = s.pad, p.pad_left = s.pad;
  p.out_h = s.ho, p.out_w = s.wo;
  // Only the rows and columns some output reads; the rest of the padding is never touched.
  p.hs = (s.ho - 1) * s.stride + s.kh;
  p.ws = (s.wo - 1) * s.stride + s.kw;
  p.w_base = 0, p.w_o = s.c * s.kh * s.kw, p.w_i = s.kh * s.kw, p.w_a = s.kw, p.w_b = 1;
  finish_direct_plan(p, lanes, choose_direct_tile(lanes, p.out_c, p.out_w, p.stride));
  return p;
}

DirectPlan make_backward_data_plan(const ConvShape& s, int lanes) {
  DirectPlan p;
  p.n = s.n, p.in_c = s.k, p.out_c = s.c, p.kh = s.kh, p.kw = s.kw, p.stride = 1;
  p.in_h = s.ho, p.in_w = s.wo, p.dil = s.stride;
  p.pad_top = s.kh - 1 - s.pad, p.pad_left = s.kw - 1 - s.pad;  // may be negative: a crop
  p.out_h = s.h, p.out_w = s.w;
  p.hs = s.h + s.kh - 1;
  p.ws = s.w + s.kw - 1;
  // w'(c, k, a, b) = w(k, c, kh - 1 - a, kw - 1 - b)
  p.w_o = s.kh * s.kw, p.w_i = s.c * s.kh * s.kw, p.w_a = -s.kw, p.w_b = -1;
  p.w_base = (s.kh - 1) * s.kw + (s.kw - 1);
  finish_direct_plan(p, lanes, choose_direct_tile(lanes, p.out_c, p.out_w, p.stride));
  return p;
}

void pack_direct_weights(const DirectPlan& p, const float* w, float* out) {
  const float* base = w + p.w_base;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < p.groups; ++g) {
    float* dst = out + g * p.group_floats;
    const int64_t width = std::min(p.group_width, p.out_c - g * p.group_width);
    for (int64_t a = 0; a < p.kh; ++a)
      for (int64_t i = 0; i < p.in_c; ++i)
        for (int64_t b = 0; b < p.kw; ++b, dst += p.group_width) {
          const float* src = base + (g * p.group_width) * p.w_o + i * p.w_i + a * p.w_a + b * p.w_b;
          for (int64_t j = 0; j < width; ++j)
            dst[j] = src[j * p.w_o];
          std::fill(dst + width, dst + p.group_width, 0.0f);
        }
  }
}

void pack_direct_source(const DirectPlan& p, const float* src, int64_t chunk, int64_t first,
                        int64_t last, float* dst) {
  // The columns of the packed plane that receive input columns [c0, c1).
  const int64_t c0 = std::max<int64_t>(0, ceil_div(-p.pad_left, p.dil));
  const int64_t last_col = p.ws - 1 - p.pad_left;
  const int64_t c1 = last_col < 0 ? 0 : std::min(p.in_w, last_col / p.dil + 1);
  for (int64_t plane = first; plane < last; ++plane) {
    const int64_t b = plane / p.in_c, i = plane % p.in_c;
    const int64_t n = chunk * p.images_per_chunk + b;
    float* d = dst + plane * p.plane();
    std::fill(d, d + p.plane(), 0.0f);
    if (n >= p.n) continue;  // the last chunk may be short
    const float* s = src + (n * p.in_c + i) * p.in_h * p.in_w;
    for (int64_t r = 0; r < p.in_h; ++r) {
      const int64_t row = p.pad_top + r * p.dil;
      if (row < 0 || row >= p.hs || c1 <= c0) continue;
      float* drow = d + row * p.ws + p.pad_left + c0 * p.dil;
      const float* srow = s + r * p.in_w + c0;
      if (p.dil == 1)
        std::memcpy(drow, srow, (c1 - c0) * sizeof(float));
      else
        for (int64_t c = 0; c < c1 - c0; ++c)
          drow[c * p.dil] = srow[c];
    }
  }
}

WeightGradPlan make_weight_grad_plan(const ConvShape& s, int lanes, int threads) {
  const WeightTile tile = choose_weight_tile(lanes, s.k);
  WeightGradPlan p;
  p.s = s;
  p.src = make_forward_plan(s, lanes);
  p.lanes = lanes;
  p.tile = tile;
  p.group_width = int64_t{tile.vecs} * lanes;
  p.k_groups = ceil_div(s.k, p.group_width);
  p.taps = s.c * s.kh * s.kw;
  p.tap_groups = ceil_div(p.taps, tile.taps);
  // Enough pixels per chunk that loading and storing the tile sums costs little.
  p.images_per_chunk = std::clamp<int64_t>(ceil_div(1024, s.ho * s.wo), 1, s.n);
  p.chunks = ceil_div(s.n, p.images_per_chunk);
  p.chunk_pixels = p.images_per_chunk * s.ho * s.wo;
  p.dy_floats = round_up(p.k_groups * p.chunk_pixels * p.group_width, 16);
  p.acc_floats = p.k_groups * p.tap_groups * tile.taps * p.group_width;
  // x is packed as the forward packs it, a chunk of this plan's size at a time.
  p.src.images_per_chunk = p.images_per_chunk;
  p.src.chunks = p.chunks;
  p.src.chunk_floats = round_up(p.images_per_chunk * s.c * p.src.plane() + 16, 16);
  p.thread_floats = p.src.chunk_floats + p.dy_floats + round_up(p.acc_floats, 16);
  p.own_chunks = threads > 1 && p.chunks >= 2 * threads;
  p.tap_offset.assign(p.tap_groups * tile.taps, 0);  // tail taps read tap 0, and are dropped
  for (int64_t i = 0; i < s.c; ++i)
    for (int64_t a = 0; a < s.kh; ++a)
      for (int64_t b = 0; b < s.kw; ++b)
        p.tap_offset[(i * s.kh + a) * s.kw + b] = i * p.src.plane() + a * p.src.ws + b;
  return p;
}

void pack_weight_grad_dy(const WeightGradPlan& p, const float* dy, int64_t chunk, int64_t first,
                         int64_t last, float* dst) {
  const ConvShape& s = p.s;
  const int64_t plane = s.ho * s.wo, gw = p.group_width;
  for (int64_t row = first; row < last; ++row) {  // row: (group, image, channel in group)
    const int64_t g = row / (p.images_per_chunk * gw), b = row / gw % p.images_per_chunk;
    const int64_t j = row % gw, k = g * gw + j, n = chunk * p.images_per_chunk + b;
    float* col = dst + (g * p.chunk_pixels + b * plane) * gw + j;
    if (n >= s.n || k >= s.k) {
      for (int64_t q = 0; q < plane; ++q)
        col[q * gw] = 0.0f;
      continue;
    }
    const float* from = dy + (n * s.k + k) * plane;
    for (int64_t q = 0; q < plane; ++q)
      col[q * gw] = from[q];
  }
}

std::vector<int64_t> weight_grad_pixels(const WeightGradPlan& p) {
  const ConvShape& s = p.s;
  std::vector<int64_t> pix;
  pix.reserve(p.chunk_pixels);
  for (int64_t b = 0; b < p.images_per_chunk; ++b)
    for (int64_t y = 0; y < s.ho; ++y)
      for (int64_t x = 0; x < s.wo; ++x)
        pix.push_back(b * s.c * p.src.plane() + y * s.stride * p.src.ws + x * s.stride);
  return pix;
}

void unpack_weight_grad(const WeightGradPlan& p, const float* acc, float* dw) {
  const int64_t gw = p.group_width, T = p.tile.taps;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < p.s.k; ++k) {
    const int64_t g = k / gw, j = k % gw;
    for (int64_t t = 0; t < p.taps; ++t)
      dw[k * p.taps + t] = acc[((g * p.tap_groups + t / T) * T + t % T) * gw + j];
  }
}

}  // namespace prism::kernels

#include "ops/kernels/conv2d_pack.hpp"

#include <xmmintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace prism::kernels {

void pack_direct_weights(const DirectPlan& p, const float* w, float* out) {
  const float* base = w + p.w_base;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < p.groups; ++g) {
    float* dst = out + g * p.group_floats;
    const int64_t width = std::min(p.group_width, p.out_c - g * p.group_width);
    for (int64_t a = 0; a < p.kh; ++a)  // the taps' order, tap_offset's
      for (int64_t b = 0; b < p.kw; ++b)
        for (int64_t i = 0; i < p.in_c; ++i, dst += p.group_width) {
          const float* src = base + (g * p.group_width) * p.w_o + i * p.w_i + a * p.w_a + b * p.w_b;
          for (int64_t j = 0; j < width; ++j)
            dst[j] = src[j * p.w_o];
          std::fill(dst + width, dst + p.group_width, 0.0f);
        }
  }
}

namespace {

// Input columns [c0, c1) of one row, packed column j = pad_left + c, to sub-plane j % phases
// (DirectPlan::at), from `to`, the row's start in sub-plane 0. At stride 2, in pairs, a loop
// the compiler vectorizes; one loop per phase with a run-time step took 1.5x the pixel tile's
// time.
void deal_columns(const DirectPlan& p, const float* row, int64_t c0, int64_t c1, float* to) {
  const int64_t phases = p.col_phases, sub = p.plane() / phases;
  if (phases == 2) {
    float* __restrict even = to + (p.pad_left + c0 + 1) / 2;
    float* __restrict odd = to + sub + (p.pad_left + c0) / 2;
    const float* __restrict from = row + c0;
    int64_t count = c1 - c0;
    if ((p.pad_left + c0) % 2) *odd++ = *from++, --count;  // the row starts in phase 1
    const int64_t pairs = count / 2;
    for (int64_t q = 0; q < pairs; ++q)
      even[q] = from[2 * q], odd[q] = from[2 * q + 1];
    if (count % 2) even[pairs] = from[2 * pairs];
    return;
  }
  for (int64_t c = c0; c < c1; ++c) {
    const int64_t j = p.pad_left + c;
    to[j % phases * sub + j / phases] = row[c];
  }
}

// One plane laid out plainly (pixel_stride 1, no column phases): zeros, then the rows that
// receive data; an unpadded plane, which its data covers (a 1x1 convolution's), gets no zeros
// (they cost a tenth of such a pass). (Zeros only around the data, in short fills on each row,
// took 1.05x the time of the whole zeroed plane on 3x3 backward-weights.)
void pack_plane(const DirectPlan& p, const float* src, int64_t c0, int64_t c1, float* d) {
  const bool covered = p.pad_top <= 0 && p.pad_left <= 0 && p.pad_top + p.in_h >= p.hs &&
                       p.pad_left + p.in_w >= p.ws;
  if (!covered) std::fill(d, d + p.plane(), 0.0f);
  if (c1 <= c0) return;
  for (int64_t r = std::max<int64_t>(0, -p.pad_top); r < p.in_h && p.pad_top + r < p.hs; ++r)
    std::memcpy(d + (p.pad_top + r) * p.ws + p.pad_left + c0, src + r * p.in_w + c0,
                (c1 - c0) * sizeof(float));
}

// Channel i of a chunk whose images are innermost: image b of packed pixel q at
// d[q * images_per_chunk + b], zeros where no data lands. Blocks of 4 images x 4 pixels are
// transposed in SSE registers (x86-64's baseline, no ISA flag), so a store writes 4 values;
// one scalar store a value was a fifth of a 1x1 convolution's backward-weights.
void pack_channel_interleaved(const DirectPlan& p, const float* src, int64_t first_image,
                              int64_t images, int64_t i, int64_t c0, int64_t c1, float* d) {
  const int64_t per = p.images_per_chunk, columns = c1 - c0;
  const int64_t image_step = p.in_c * p.in_h * p.in_w;  // from one image's channel i to the next
  std::fill(d, d + p.channel_stride, 0.0f);
  for (int64_t r = 0; r < p.in_h; ++r) {
    const int64_t row = p.pad_top + r;
    if (row < 0 || row >= p.hs || columns <= 0) continue;
    float* to = d + (row * p.ws + p.pad_left + c0) * per;
    const float* from = src + (first_image * p.in_c + i) * p.in_h * p.in_w + r * p.in_w + c0;
    int64_t b = 0;
    for (; b + 4 <= images; b += 4) {
      const float* f = from + b * image_step;
      int64_t c = 0;
      for (; c + 4 <= columns; c += 4) {
        __m128 v0 = _mm_loadu_ps(f + c), v1 = _mm_loadu_ps(f + image_step + c);
        __m128 v2 = _mm_loadu_ps(f + 2 * image_step + c), v3 = _mm_loadu_ps(f + 3 * image_step + c);
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
        _mm_storeu_ps(to + c * per + b, v0);
        _mm_storeu_ps(to + (c + 1) * per + b, v1);
        _mm_storeu_ps(to + (c + 2) * per + b, v2);
        _mm_storeu_ps(to + (c + 3) * per + b, v3);
      }
      for (; c < columns; ++c)
        for (int64_t k = 0; k < 4; ++k)
          to[c * per + b + k] = f[k * image_step + c];
    }
    for (; b < images; ++b)
      for (int64_t c = 0; c < columns; ++c)
        to[c * per + b] = from[b * image_step + c];
  }
}

}  // namespace

void pack_direct_source(const DirectPlan& p, const float* src, int64_t first_image, int64_t images,
                        int64_t first, int64_t last, float* dst) {
  // The columns of the packed plane that receive input columns [c0, c1).
  const int64_t c0 = std::max<int64_t>(0, -p.pad_left);
  const int64_t c1 = std::min(p.in_w, p.ws - p.pad_left);
  if (p.image_stride == 1) {  // images innermost: whole channels
    for (int64_t i = first / p.images_per_chunk; i < last / p.images_per_chunk; ++i)
      pack_channel_interleaved(p, src, first_image, images, i, c0, c1, dst + i * p.channel_stride);
    return;
  }
  for (int64_t plane = first; plane < last; ++plane) {
    const int64_t b = plane / p.in_c, i = plane % p.in_c;
    float* d = dst + b * p.image_stride + i * p.channel_stride;
    const float* s = src + ((first_image + b) * p.in_c + i) * p.in_h * p.in_w;
    if (b < images && p.col_phases == 1) {
      pack_plane(p, s, c0, c1, d);
      continue;
    }
    std::fill(d, d + p.plane(), 0.0f);
    if (b >= images) continue;  // a short chunk
    for (int64_t r = 0; r < p.in_h; ++r) {
      const int64_t row = p.pad_top + r;
      if (row >= 0 && row < p.hs && c1 > c0)
        deal_columns(p, s + r * p.in_w, c0, c1, d + row * (p.ws / p.col_phases));
    }
  }
}

namespace {

// Along pixels: each sum is a vector over pixels, added up lane by lane in order.
void unpack_pixel_weight_grad(const WeightGradPlan& p, const float* acc, float* dw) {
  const int64_t kt = p.tile.vecs, tt = p.tile.taps, lanes = p.lanes;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < p.s.k; ++k)
    for (int64_t tap = 0; tap < p.taps; ++tap) {
      const int64_t tile = k / kt * p.tap_groups + tap / tt;
      const float* v = acc + ((tile * kt + k % kt) * tt + tap % tt) * lanes;
      float sum = 0.0f;
      for (int64_t l = 0; l < lanes; ++l)
        sum += v[l];
      dw[k * p.taps + tap] = sum;
    }
}

}  // namespace

void unpack_weight_grad(const WeightGradPlan& p, const float* acc, float* dw) {
  if (p.tile.along_pixels) return unpack_pixel_weight_grad(p, acc, dw);
  // A block of input channels at a time, through a buffer of the block's part of each output
  // channel's row: the sums are read in order, a tap's group_width channels at a time, and the
  // rows are written whole. (Straight from sums to dw, one side walks a stride of kh * kw taps of
  // all channels, or of a dw row, which on VGG's shapes meet in a few cache sets and evict
  // each other.)
  const int64_t gw = p.group_width, c = p.s.c, window = p.s.kh * p.s.kw;
  const int64_t block = std::max<int64_t>(1, 256 / window), span = block * window;
#pragma omp parallel
  {
    std::vector<float> part(gw * span);  // [group_width][block * window]
#pragma omp for schedule(static)
    for (int64_t g = 0; g < p.k_groups; ++g) {
      const float* sums = acc + g * p.tap_groups * p.tile.taps * gw;  // [tap][group_width]
      const int64_t width = std::min(gw, p.s.k - g * gw);
      for (int64_t i0 = 0; i0 < c; i0 += block) {
        const int64_t n = std::min(block, c - i0);
        for (int64_t ab = 0; ab < window; ++ab)
          for (int64_t i = 0; i < n; ++i) {
            const float* tap = sums + (ab * c + i0 + i) * gw;  // WeightGradPlan's tap order
            for (int64_t j = 0; j < width; ++j)
              part[j * span + i * window + ab] = tap[j];
          }
        for (int64_t j = 0; j < width; ++j)
          std::copy_n(part.data() + j * span, n * window, dw + (g * gw + j) * p.taps + i0 * window);
      }
    }
  }
}

}  // namespace prism::kernels

#include "ops/kernels/conv2d_plan.hpp"

#include <algorithm>
#include <array>
#include <numeric>

#include "core/caches.hpp"
#include "ops/kernels/conv2d_isa.hpp"

namespace prism::kernels {

namespace {

// A packed chunk and its stage take 3/16 of L2 (384 KiB of 2 MiB), so they stay there beside a
// group's weights and the output rows in flight; at least 16 KiB, whatever the machine says.
int64_t chunk_bytes(const CacheSizes& caches) {
  return std::max<int64_t>(16 << 10, caches.l2 * 3 / 16);
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}
int64_t round_up(int64_t a, int64_t b) {
  return ceil_div(a, b) * b;
}

// The packed layout (DirectPlan::image_stride) and the taps' offsets in it.
void set_layout(DirectPlan& p, bool images_innermost) {
  p.image_stride = images_innermost ? 1 : p.in_c * p.plane();
  p.pixel_stride = images_innermost ? p.images_per_chunk : 1;
  p.channel_stride = p.plane() * p.pixel_stride;
  p.tap_offset.clear();
  for (int64_t a = 0; a < p.kh; ++a)
    for (int64_t b = 0; b < p.kw; ++b)
      for (int64_t i = 0; i < p.in_c; ++i)
        p.tap_offset.push_back(i * p.channel_stride +
                               p.at(p.shift_h + a * p.dil_h, p.shift_w + b * p.dil_w) *
                                   p.pixel_stride);
}

// The packed rows and columns that hold data, counted from the window's start.
void set_data_bounds(DirectPlan& p) {
  p.row_lo = std::max<int64_t>(0, p.pad_top) - p.shift_h;
  p.row_hi = std::min(p.hs - 1, p.pad_top + p.in_h - 1) - p.shift_h;
  p.col_lo = std::max<int64_t>(0, p.pad_left) - p.shift_w;
  p.col_hi = std::min(p.ws - 1, p.pad_left + p.in_w - 1) - p.shift_w;
}

// The stage's floats for one image: the tiles' output, slots for whole runs.
int64_t stage_image_floats(const DirectPlan& p) {
  if (p.tile.along_pixels) return 0;  // pixel vectors go straight to the output
  return p.out_h * p.segs_per_row * p.tile.seg_len * p.group_width;
}

// The images a chunk holds in multiples of, for whole tiles: the runs of an output row across a
// chunk's images a multiple of tile.segs (tiles go row by row), and across images, the images
// themselves. Pixel-vector tiles span rows and images.
int64_t images_unit(const DirectPlan& p) {
  if (p.runs_across_images) return p.tile.segs;
  if (p.tile.along_pixels) return 1;
  return p.tile.segs / std::gcd<int64_t>(p.tile.segs, p.segs_per_row);
}

// As many images as fill `floats` per image in a share of L2, in multiples of `unit`, as even
// as the chunk count allows; one unit when fewer do not fill it.
int64_t images_per_chunk(int64_t n, int64_t image_floats, int64_t unit) {
  const int64_t fit = std::max<int64_t>(1, chunk_bytes(cache_sizes()) / 4 / image_floats);
  const int64_t images = std::min(n, std::max(unit, fit / unit * unit));
  return ceil_div(n, ceil_div(n, images));
}

// Chunks of `images` images: their count, the packed chunk, the stage, the layout, and whether
// the source is read in place: never for backward-data's phases when several have taps (they
// read one packed plane, each from its shift), and only for
// one group of output channels (with more, the copy brings the chunk into L2 for the groups
// after the first: ResNet's 1x1 shortcut backward-data 0.26 -> 0.18 ms in place, 72->200@15's
// backward-data, three groups, 3.7 -> 4.2 ms).
void set_chunks(DirectPlan& p, int64_t images, bool shared) {
  p.images_per_chunk = images;
  p.chunks = ceil_div(p.n, images);
  // A run shorter than seg_len still reads seg_len pixels, past the end of the last image.
  const int64_t slack = int64_t{p.tile.seg_len} * p.stride_w + (p.kw - 1) * p.dil_w + 17;
  p.chunk_floats = round_up(images * p.in_c * p.plane() + slack, 16);
  p.stage_floats = round_up(images * stage_image_floats(p), 16);
  set_layout(p, p.runs_across_images);
  p.in_place = !shared && p.groups == 1 && !p.runs_across_images && p.col_phases == 1 &&
               p.pad_top == 0 && p.pad_left == 0 && p.hs == p.in_h && p.ws == p.in_w &&
               p.shift_h == 0 && p.shift_w == 0 &&
               (p.tile.along_pixels || p.out_w % p.tile.seg_len == 0);
  if (p.in_place) p.chunk_floats = 0;
}

// Fills in everything that follows from the geometry set by the two plan makers.
void finish_direct_plan(DirectPlan& p, const Conv2dIsa& isa) {
  const DirectTile tile = isa.direct_tile(p.out_c, p.out_w, p.stride_w, p.in_c * p.kh * p.kw);
  p.lanes = isa.lanes;
  p.tile = tile;
  set_data_bounds(p);
  p.group_width = tile.along_pixels ? tile.noc : int64_t{tile.noc} * isa.lanes;
  p.groups = ceil_div(p.out_c, p.group_width);
  p.group_floats = p.kh * p.in_c * p.kw * p.group_width;
  p.segs_per_row = ceil_div(p.out_w, tile.seg_len);
  p.runs_across_images = !tile.along_pixels && tile.seg_len == 1;
  p.chunk_bytes = chunk_bytes(cache_sizes());
  const int64_t image_floats = p.in_c * p.plane() + stage_image_floats(p);
  set_chunks(p, images_per_chunk(p.n, image_floats, images_unit(p)), false);
}

// A pointwise convolution (1x1, stride 1, no padding) is the same on each image's pixels laid
// in one row: the direct tiles then run along the whole image, not row by row with a ragged
// end on each (on 9x9 images, 81 pixels in runs along one row, against 9 rows of 3 runs of 4
// with 3 pixels spare: 1.75 to 1.4 ms on 200->72@9). Backward-weights takes it too, since it
// packs x with the forward plan.
ConvShape pointwise_in_one_row(const ConvShape& s) {
  if (!s.unpadded_1x1() || s.sh != 1 || s.sw != 1) return s;
  ConvShape row = s;
  row.w = row.wo = s.h * s.w;
  row.h = row.ho = 1;
  return row;
}

// The output rows (or columns) [lo, hi) whose window puts a kernel row (column) at offset a
// (its index times the dilation) on data: packed row y * stride + a within [data_lo, data_hi].
struct Span {
  int64_t lo, hi;
};
Span live_span(int64_t a, int64_t stride, int64_t out, int64_t data_lo, int64_t data_hi) {
  const int64_t lo = std::max<int64_t>(0, ceil_div(std::max<int64_t>(0, data_lo - a), stride));
  const int64_t hi = data_hi < a ? 0 : std::min(out, (data_hi - a) / stride + 1);
  return {lo, std::max(lo, hi)};
}

// Each tap group sums over the pixels inside the smallest box of rows and columns holding every
// pixel where one of its taps meets data (taps of one kernel position share it; a group across
// two positions takes a box around both). Groups with the same box share its list.
void set_live_pixels(WeightGradPlan& p) {
  const ConvShape& s = p.s;
  const DirectPlan& x = p.src;
  std::vector<std::array<int64_t, 4>> boxes;  // y_lo, y_hi, x_lo, x_hi, in the order first met
  std::vector<int64_t> box_first;
  for (int64_t tg = 0; tg < p.tap_groups; ++tg) {
    std::array<int64_t, 4> box{s.ho, 0, s.wo, 0};
    for (int64_t t = tg * p.tile.taps; t < std::min(p.taps, (tg + 1) * p.tile.taps); ++t) {
      const int64_t a = t / s.c / s.kw, b = t / s.c % s.kw;
      const Span rows = live_span(a * s.dil_h, s.sh, s.ho, x.row_lo, x.row_hi);
      const Span cols = live_span(b * s.dil_w, s.sw, s.wo, x.col_lo, x.col_hi);
      if (rows.lo == rows.hi || cols.lo == cols.hi) continue;  // this tap never meets data
      box = {std::min(box[0], rows.lo), std::max(box[1], rows.hi), std::min(box[2], cols.lo),
             std::max(box[3], cols.hi)};
    }
    if (box[0] >= box[1] || box[2] >= box[3]) box = {0, 0, 0, 0};
    const int64_t count = (box[1] - box[0]) * (box[3] - box[2]) * p.images_per_chunk;
    const auto known = std::find(boxes.begin(), boxes.end(), box);
    if (known != boxes.end()) {
      p.group_pixels.push_back({box_first[known - boxes.begin()], count});
      continue;
    }
    boxes.push_back(box);
    box_first.push_back(static_cast<int64_t>(p.live_pixels.size()));
    p.group_pixels.push_back({box_first.back(), count});
    for (int64_t y = box[0]; y < box[1]; ++y)  // images innermost, as they are packed
      for (int64_t c = box[2]; c < box[3]; ++c)
        for (int64_t n = 0; n < p.images_per_chunk; ++n)
          p.live_pixels.push_back((n * s.ho + y) * s.wo + c);
  }
}

}  // namespace

DirectPlan make_forward_plan(const ConvShape& shape, const Conv2dIsa& isa) {
  const ConvShape s = pointwise_in_one_row(shape);
  DirectPlan p;
  p.n = s.n, p.in_c = s.c, p.out_c = s.k, p.kh = s.kh, p.kw = s.kw;
  p.stride_h = s.sh, p.stride_w = s.sw, p.dil_h = s.dil_h, p.dil_w = s.dil_w;
  p.in_h = s.h, p.in_w = s.w, p.pad_top = s.ph, p.pad_left = s.pw;
  p.out_h = s.ho, p.out_w = s.wo;
  // Only the rows and columns some output reads; the rest of the padding is never touched.
  p.hs = (s.ho - 1) * s.sh + s.extent_h();
  p.ws = (s.wo - 1) * s.sw + s.extent_w();
  p.w_base = 0, p.w_o = s.c * s.kh * s.kw, p.w_i = s.kh * s.kw, p.w_a = s.kw, p.w_b = 1;
  finish_direct_plan(p, isa);
  return p;
}

namespace {

// One dimension of a backward-data phase: dx row phase + r * stride gets, from kernel rows
// first, first + step, ... (count of them), the tap j's value from dy row r + offset - j * spacing.
struct PhaseTaps {
  int64_t first, step, count, spacing, offset;
};
PhaseTaps phase_taps(int64_t phase, int64_t stride, int64_t pad, int64_t dil, int64_t k) {
  // Row a reaches the phase when a * dil = phase + pad (mod stride): every stride / g rows.
  const int64_t g = std::gcd(dil, stride);
  PhaseTaps t{0, stride / g, 0, dil / g, 0};
  for (int64_t a = 0; a < std::min(k, t.step); ++a)
    if ((phase + pad - a * dil) % stride == 0) {
      t.first = a;
      t.count = (k - 1 - a) / t.step + 1;
      t.offset = (phase + pad - a * dil) / stride;  // exact
      break;
    }
  return t;
}

// The phases share their chunks (BackwardDataPlan): one packed plane, padded as much as any
// phase needs, each phase shifted in by what it needs less; chunks that fit a share of L2 with
// every phase's stage and output; and where each phase's buffers lie in a thread's scratch.
// Phases whose tiles pack differently (images innermost or not) pack a chunk each.
void share_chunks(BackwardDataPlan& plan) {
  std::vector<BackwardDataPhase*> live;
  for (BackwardDataPhase& phase : plan.phases)
    if (phase.has_taps) live.push_back(&phase);
  plan.images_per_chunk = plan.s.n;
  plan.thread_floats = 0;
  if (live.empty()) return;
  int64_t top = live[0]->direct.pad_top, left = live[0]->direct.pad_left, hs = 0, ws = 0;
  for (const BackwardDataPhase* phase : live)
    top = std::max(top, phase->direct.pad_top), left = std::max(left, phase->direct.pad_left);
  for (const BackwardDataPhase* phase : live) {
    hs = std::max(hs, top - phase->direct.pad_top + phase->direct.hs);
    ws = std::max(ws, left - phase->direct.pad_left + phase->direct.ws);
  }
  int64_t image_floats = 0, unit = 1;
  std::vector<size_t> packer(live.size());  // the phase whose packed chunk phase k reads
  for (size_t k = 0; k < live.size(); ++k) {
    DirectPlan& p = live[k]->direct;
    p.shift_h = top - p.pad_top, p.shift_w = left - p.pad_left;
    p.pad_top = top, p.pad_left = left, p.hs = hs, p.ws = ws;
    set_data_bounds(p);
    packer[k] = k;
    for (size_t j = 0; j < k && packer[k] == k; ++j)
      if (live[j]->direct.runs_across_images == p.runs_across_images) packer[k] = j;
    live[k]->packs = packer[k] == k;
    if (live[k]->packs) image_floats += p.in_c * p.plane();
    image_floats += stage_image_floats(p) + p.out_c * p.out_h * p.out_w;
    unit = std::max(unit, images_unit(p));
  }
  plan.images_per_chunk = images_per_chunk(plan.s.n, image_floats, unit);
  for (BackwardDataPhase* phase : live)
    set_chunks(phase->direct, plan.images_per_chunk, live.size() > 1);
  // A shared chunk holds the slack of every phase that reads it (their tiles differ).
  for (size_t k = 0; k < live.size(); ++k) {
    int64_t& floats = live[packer[k]]->direct.chunk_floats;
    floats = std::max(floats, live[k]->direct.chunk_floats);
  }
  int64_t at = 0;
  for (size_t k = 0; k < live.size(); ++k) {
    BackwardDataPhase* phase = live[k];
    const DirectPlan& p = phase->direct;
    if (phase->packs) {
      phase->chunk_at = at;
      at += p.chunk_floats;
    } else {
      phase->chunk_at = live[packer[k]]->chunk_at;
    }
    phase->stage_at = at;
    at += p.stage_floats;
    phase->out_at = at;
    at += round_up(plan.images_per_chunk * p.out_c * p.out_h * p.out_w, 16);
  }
  plan.thread_floats = at;
}

}  // namespace

BackwardDataPlan make_backward_data_plan(const ConvShape& shape, const Conv2dIsa& isa) {
  const ConvShape s = pointwise_in_one_row(shape);
  BackwardDataPlan plan{s, {}, std::min(s.sw, s.w), s.n, 0};
  for (int64_t py = 0; py < std::min(s.sh, s.h); ++py)
    for (int64_t px = 0; px < plan.phase_cols; ++px) {
      const PhaseTaps rows = phase_taps(py, s.sh, s.ph, s.dil_h, s.kh);
      const PhaseTaps cols = phase_taps(px, s.sw, s.pw, s.dil_w, s.kw);
      BackwardDataPhase phase{py,
                              px,
                              ceil_div(s.h - py, s.sh),
                              ceil_div(s.w - px, s.sw),
                              rows.count > 0 && cols.count > 0,
                              {}};
      if (phase.has_taps) {
        DirectPlan& p = phase.direct;
        p.n = s.n, p.in_c = s.k, p.out_c = s.c, p.kh = rows.count, p.kw = cols.count;
        p.stride_h = p.stride_w = 1, p.dil_h = rows.spacing, p.dil_w = cols.spacing;
        p.in_h = s.ho, p.in_w = s.wo, p.out_h = phase.rows, p.out_w = phase.cols;
        // Output r's tap a' = kh - 1 - j reads packed row r + a' * dil_h, which must hold dy
        // row r + offset - j * spacing: dy lands (kh - 1) * dil_h - offset rows down (< 0: a crop).
        p.pad_top = (p.kh - 1) * p.dil_h - rows.offset;
        p.pad_left = (p.kw - 1) * p.dil_w - cols.offset;
        // An unpadded 1x1 kernel at a stride has one phase with taps, which reads dy pixel
        // for pixel: a pointwise convolution, its images' pixels as one row (as
        // pointwise_in_one_row lays them).
        if (s.unpadded_1x1()) {
          p.in_w = p.out_w = p.in_h * p.in_w;
          p.in_h = p.out_h = 1;
        }
        p.hs = p.out_h + (p.kh - 1) * p.dil_h;
        p.ws = p.out_w + (p.kw - 1) * p.dil_w;
        // w'(c, k, a', b') = w(k, c, first + (kh - 1 - a') step, ...): flipped, transposed.
        p.w_o = s.kh * s.kw, p.w_i = s.c * s.kh * s.kw;
        p.w_a = -rows.step * s.kw, p.w_b = -cols.step;
        p.w_base =
            (rows.first + (p.kh - 1) * rows.step) * s.kw + cols.first + (p.kw - 1) * cols.step;
        finish_direct_plan(p, isa);
      }
      plan.phases.push_back(std::move(phase));
    }
  if (plan.phases.size() > 1) share_chunks(plan);
  return plan;
}

namespace {

// Along pixels: x packed plane by plane, as the forward packs it, but at a column stride dealt
// into that many column phases; a chunk of images that fits the share of L2 beside the dy it
// meets; taps in dw's (c, kh, kw) order.
void finish_pixel_weight_grad_plan(WeightGradPlan& p) {
  const ConvShape& s = p.s;
  DirectPlan& x = p.src;
  x.col_phases = s.sw;
  x.ws = round_up(x.ws, s.sw);
  set_data_bounds(x);
  set_layout(x, false);
  p.x_row = x.at(s.sh, 0) - x.at(0, 0);
  const int64_t image_floats = s.c * x.plane() + s.k * s.ho * s.wo;
  p.images_per_chunk = images_per_chunk(s.n, image_floats, 1);
  p.chunks = ceil_div(s.n, p.images_per_chunk);
  p.chunk_pixels = p.images_per_chunk * s.ho * s.wo;
  x.images_per_chunk = p.images_per_chunk;
  x.chunks = p.chunks;
  // Masked loads read nothing past a row's end; the slack is the forward plan's habit.
  x.chunk_floats = round_up(p.images_per_chunk * s.c * x.plane() + 16, 16);
  x.in_place = false;  // the weight passes pack x
  p.dy_floats = 0;
  p.acc_floats = p.k_groups * p.tap_groups * p.tile.vecs * p.tile.taps * p.lanes;
  p.own_chunks = false;
  p.tap_offset.clear();
  for (int64_t i = 0; i < s.c; ++i)
    for (int64_t a = 0; a < s.kh; ++a)
      for (int64_t b = 0; b < s.kw; ++b)
        p.tap_offset.push_back(i * x.channel_stride + x.at(a * s.dil_h, b * s.dil_w));
  // Tail taps read the last tap (of a channel the tile's thread packs), and are dropped.
  p.tap_offset.resize(p.tap_groups * p.tile.taps, p.tap_offset.back());
}

}  // namespace

WeightGradPlan make_weight_grad_plan(const ConvShape& shape, const Conv2dIsa& isa, int threads) {
  const ConvShape s = pointwise_in_one_row(shape);
  const int lanes = isa.lanes;
  const WeightTile tile = isa.weight_tile(s.k, s.wo);
  WeightGradPlan p;
  p.s = s;
  p.src = make_forward_plan(s, isa);
  p.lanes = lanes;
  p.tile = tile;
  p.group_width = tile.along_pixels ? tile.vecs : int64_t{tile.vecs} * lanes;
  p.x_row = 0;
  p.k_groups = ceil_div(s.k, p.group_width);
  p.taps = s.c * s.kh * s.kw;
  p.tap_groups = ceil_div(p.taps, tile.taps);
  p.threads = threads;
  if (tile.along_pixels) {
    finish_pixel_weight_grad_plan(p);
    return p;
  }
  // Enough pixels per chunk that loading and storing the tile sums costs little.
  p.images_per_chunk = std::clamp<int64_t>(ceil_div(1024, s.ho * s.wo), 1, s.n);
  p.chunks = ceil_div(s.n, p.images_per_chunk);
  p.images_per_chunk = ceil_div(s.n, p.chunks);  // as even as the chunk count allows
  p.chunk_pixels = p.images_per_chunk * s.ho * s.wo;
  p.dy_floats = round_up(p.k_groups * p.chunk_pixels * p.group_width, 16);
  p.acc_floats = p.k_groups * p.tap_groups * tile.taps * p.group_width;
  // x is packed as the forward packs it, a chunk of this plan's size at a time.
  p.src.images_per_chunk = p.images_per_chunk;
  p.src.chunks = p.chunks;
  p.src.chunk_floats = round_up(p.images_per_chunk * s.c * p.src.plane() + 16, 16);
  p.src.in_place = false;
  // Images innermost: the pixels a tile visits one after another are one pixel of successive
  // images, neighbours in memory. (Plane after plane, they would be a plane of all channels
  // apart, which on small planes is a multiple of 4 KiB: the same cache set each time.)
  set_layout(p.src, true);
  p.own_chunks = threads > 1 && p.chunks >= 2 * threads;
  p.tap_offset.assign(p.tap_groups * tile.taps, 0);  // tail taps read tap 0, and are dropped
  for (int64_t a = 0; a < s.kh; ++a)
    for (int64_t b = 0; b < s.kw; ++b)
      for (int64_t i = 0; i < s.c; ++i)
        p.tap_offset[(a * s.kw + b) * s.c + i] =
            i * p.src.channel_stride + p.src.at(a * s.dil_h, b * s.dil_w) * p.src.pixel_stride;
  for (int64_t b = 0; b < p.images_per_chunk; ++b)
    for (int64_t y = 0; y < s.ho; ++y)
      for (int64_t x = 0; x < s.wo; ++x)
        p.pixel_at.push_back(b + (y * s.sh * p.src.ws + x * s.sw) * p.src.pixel_stride);
  set_live_pixels(p);
  return p;
}

int64_t DirectPlan::at(int64_t row, int64_t col) const {
  const int64_t width = ws / col_phases;
  return col % col_phases * hs * width + row * width + col / col_phases;
}

int64_t DirectPlan::scratch_floats(int threads) const {
  return threads * (chunk_floats + stage_floats);
}

float* DirectPlan::chunk_of(float* scratch, int thread) const {
  return scratch + thread * (chunk_floats + stage_floats);
}

float* DirectPlan::stage_of(float* scratch, int thread) const {
  return chunk_of(scratch, thread) + chunk_floats;
}

int64_t WeightGradPlan::scratch_floats() const {
  return (own_chunks || tile.along_pixels ? threads : 1) * block_floats();
}

int64_t WeightGradPlan::block_floats() const {
  return src.chunk_floats + (tile.along_pixels ? 0 : dy_floats + round_up(acc_floats, 16));
}

WeightGradPlan::Buffers WeightGradPlan::buffers_of(float* scratch, int thread) const {
  float* x = scratch + (own_chunks || tile.along_pixels ? thread : 0) * block_floats();
  float* dy = x + src.chunk_floats;
  return {x, dy, dy + dy_floats};
}

}  // namespace prism::kernels

// The SIMD convolution kernels against the scalar reference, for every ISA this machine runs.
#include <doctest/doctest.h>

#include <array>
#include <limits>

#include "core/caches.hpp"
#include "core/isa.hpp"
#include "core/parallel.hpp"
#include "gradcheck.hpp"
#include "isa_scope.hpp"
#include "ops/kernels/conv2d_isa.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "ops/kernels/conv2d_plan.hpp"

using namespace prism;
using namespace prism::kernels;
using prism::testing::fast_isas;
using prism::testing::IsaScope;
using prism::testing::random_tensor;
using prism::testing::rel_error;

namespace {

// The SIMD kernels of a fast ISA.
const Conv2dIsa& kernels_of(Isa isa) {
  return isa == Isa::avx512 ? conv2d_avx512() : conv2d_avx2();
}

struct Passes {
  Tensor y, dx, dw;
};

Passes run_passes(const ConvShape& s, const Tensor& x, const Tensor& w, const Tensor& b,
                  const Tensor& dy) {
  // Outputs start as NaN: every pass must write every element (the ops hand them
  // uninitialized memory).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Passes r{Tensor::full({s.n, s.k, s.ho, s.wo}, nan), Tensor::full(x.shape(), nan),
           Tensor::full(w.shape(), nan)};
  conv2d_forward(s, x.data(), w.data(), b.data(), r.y.data());
  conv2d_backward_data(s, dy.data(), w.data(), r.dx.data());
  conv2d_backward_weights(s, x.data(), dy.data(), r.dw.data());
  return r;
}

void check_against_reference(const ConvShape& s, Rng& rng) {
  INFO("N=" << s.n << " C=" << s.c << " K=" << s.k << " H=" << s.h << " W=" << s.w << " kernel "
            << s.kh << "x" << s.kw << " stride (" << s.sh << ", " << s.sw << ") pad (" << s.ph
            << ", " << s.pw << ") dilation (" << s.dil_h << ", " << s.dil_w << ")");
  Tensor x = random_tensor({s.n, s.c, s.h, s.w}, rng),
         w = random_tensor({s.k, s.c, s.kh, s.kw}, rng);
  Tensor b = random_tensor({s.k}, rng), dy = random_tensor({s.n, s.k, s.ho, s.wo}, rng);
  Passes ref;
  {
    IsaScope scalar(Isa::scalar);
    ref = run_passes(s, x, w, b, dy);
  }
  for (Isa isa : fast_isas()) {
    CAPTURE(isa_name(isa));
    IsaScope scope(isa);
    Passes got = run_passes(s, x, w, b, dy);
    CHECK(rel_error(got.y, ref.y) < 1e-4);
    CHECK(rel_error(got.dx, ref.dx) < 1e-4);
    CHECK(rel_error(got.dw, ref.dw) < 1e-4);
  }
}

}  // namespace

TEST_CASE("conv2d kernels: every ISA matches the reference on random awkward shapes") {
  // C and K off the vector widths, H and W 1..33, strides 1 and 2 and pads 0..2 chosen apart
  // for rows and columns, kernels 1, 2, 3, 5 high and wide, batch 1 and 7; every third shape
  // dilated by 1..3, rows and columns apart.
  Rng rng(2026);
  int tested = 0;
  for (int i = 0; tested < 60; ++i) {
    const int64_t n = i % 2 ? 7 : 1, c = 1 + rng.below(21), k = 1 + rng.below(37);
    const int64_t h = 1 + rng.below(33), w = 1 + rng.below(33);
    const int64_t kh = std::array<int64_t, 4>{1, 2, 3, 5}[rng.below(4)];
    const int64_t kw = i % 3 ? kh : std::array<int64_t, 4>{1, 2, 3, 5}[rng.below(4)];
    const int64_t sh = 1 + i % 4 / 2, sw = i % 5 ? sh : 3 - sh;
    const int64_t ph = rng.below(3), pw = i % 3 ? ph : rng.below(3);
    const int64_t dh = i % 3 == 2 ? 1 + rng.below(3) : 1, dw = i % 3 == 2 ? 1 + rng.below(3) : 1;
    if ((kh - 1) * dh + 1 > h + 2 * ph || (kw - 1) * dw + 1 > w + 2 * pw) continue;
    check_against_reference(make_conv_shape(n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw), rng);
    ++tested;
  }
}

TEST_CASE("conv2d kernels: edge shapes") {
  Rng rng(7);
  // One pixel; a kernel as large as the padded input; a pad wider than the 1x1 kernel (the
  // backward-data crop); stride 3 (runs of one pixel); one channel in and out; many channel
  // groups and chunks with short tails; non-square kernels; strides and pads that differ
  // between rows and columns (stride 3 in one dimension only, a crop in one only).
  for (const ConvShape& s : {make_conv_shape(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
                             make_conv_shape(2, 3, 2, 2, 5, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 4, 5, 6, 7, 1, 1, 1, 1, 2, 2),
                             make_conv_shape(7, 5, 13, 11, 9, 3, 3, 3, 3, 1, 1),
                             make_conv_shape(7, 1, 9, 9, 1, 3, 3, 2, 2, 0, 0),
                             make_conv_shape(7, 40, 4, 4, 70, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(5, 9, 2, 2, 33, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 6, 10, 7, 20, 3, 5, 1, 1, 2, 2),
                             make_conv_shape(2, 4, 9, 12, 5, 5, 2, 2, 2, 1, 1),
                             make_conv_shape(3, 5, 11, 13, 18, 3, 5, 1, 2, 0, 2),
                             make_conv_shape(2, 3, 8, 17, 20, 1, 3, 3, 1, 0, 1),
                             make_conv_shape(2, 3, 17, 8, 20, 3, 1, 1, 3, 1, 0),
                             make_conv_shape(4, 6, 5, 9, 9, 1, 1, 2, 1, 2, 0),
                             // Dilated: a kernel spanning the whole padded input; a dilation
                             // wider than the input, so most taps only meet padding; dilation
                             // with stride 3 (runs of one pixel); a crop in backward-data.
                             make_conv_shape(3, 5, 7, 7, 17, 3, 3, 1, 1, 1, 1, 4, 4),
                             make_conv_shape(5, 9, 4, 5, 20, 3, 3, 1, 1, 5, 5, 6, 5),
                             make_conv_shape(7, 4, 15, 14, 33, 3, 3, 3, 3, 2, 2, 2, 3),
                             make_conv_shape(2, 6, 12, 12, 40, 3, 3, 2, 2, 0, 0, 2, 2)})
    check_against_reference(s, rng);
}

TEST_CASE("conv2d kernels: pixel-vector tiles against the reference") {
  // Few output channels on rows at least a vector wide go along pixels (forward, and
  // backward-data's phases with few input channels). Channels 1..16 for both tiles and their
  // padding; widths a vector, one past it (the last vector overlaps) and several; short
  // last tiles (batch 1 and 3); pads, a crop (the backward-data of a 1x1 with pad 1),
  // dilation, a row stride, 5x5, and stride-2 backward-data, whose phases are 16 wide; up to
  // 64 channels with few taps (AVX-512). Backward-weights along pixels: rows of 15 (one masked
  // vector on AVX-512, a whole and a masked one on AVX2), 16 at row stride 2, 72 dilated with
  // 63 channels, 5x5; channel and tap counts off the tiles.
  Rng rng(19);
  for (const ConvShape& s : {make_conv_shape(3, 5, 32, 32, 16, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(1, 3, 17, 17, 3, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 7, 16, 33, 12, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(2, 16, 20, 18, 1, 5, 5, 1, 1, 2, 2),
                             make_conv_shape(3, 4, 9, 24, 9, 3, 3, 2, 1, 0, 1),
                             make_conv_shape(2, 6, 22, 22, 8, 3, 3, 1, 1, 2, 2, 2, 2),
                             make_conv_shape(3, 6, 19, 21, 5, 1, 1, 1, 1, 0, 0),
                             make_conv_shape(2, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1),
                             make_conv_shape(2, 13, 34, 34, 20, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(3, 5, 15, 15, 7, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(2, 3, 33, 16, 13, 3, 3, 2, 1, 1, 1),
                             make_conv_shape(2, 2, 10, 72, 63, 3, 3, 1, 1, 1, 1, 2, 1),
                             make_conv_shape(3, 4, 16, 16, 20, 5, 5, 1, 1, 2, 2),
                             make_conv_shape(2, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 2, 16, 18, 37, 3, 3, 1, 1, 1, 0),
                             make_conv_shape(2, 4, 18, 18, 8, 1, 1, 1, 1, 1, 1),
                             // Rows of exactly one vector, an odd count of them; x in column
                             // phases at stride 2 (rows starting in either phase, dilated) and 3.
                             make_conv_shape(2, 3, 15, 16, 20, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(2, 3, 15, 8, 12, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(2, 5, 31, 31, 8, 3, 3, 2, 2, 1, 1),
                             make_conv_shape(2, 5, 32, 34, 8, 3, 3, 2, 2, 0, 0),
                             make_conv_shape(2, 4, 20, 31, 8, 3, 3, 2, 2, 2, 2, 2, 2),
                             make_conv_shape(2, 4, 20, 48, 8, 3, 3, 3, 3, 1, 1),
                             // Pointwise on long rows: many channels along pixels (AVX-512).
                             make_conv_shape(2, 20, 12, 12, 70, 1, 1, 1, 1, 0, 0)})
    check_against_reference(s, rng);
}

TEST_CASE("conv2d kernels: the pixel-vector tiles are chosen for few channels on wide rows") {
  for (Isa isa : fast_isas()) {
    CAPTURE(isa_name(isa));
    const Conv2dIsa& kernels = kernels_of(isa);
    const int64_t lanes = kernels.lanes;
    CHECK(kernels.direct_tile(lanes, lanes, 1, 288).along_pixels);
    CHECK(kernels.direct_tile(3, 2 * lanes + 1, 1, 288).along_pixels);
    CHECK(!kernels.direct_tile(lanes + 1, 32, 1, 288).along_pixels);     // two channel vectors
    CHECK(!kernels.direct_tile(lanes, lanes - 1, 1, 288).along_pixels);  // rows under a vector
    CHECK(!kernels.direct_tile(lanes, 32, 2, 288).along_pixels);         // strided columns
    if (isa == Isa::avx512) {  // few taps: up to 64 channels, on rows whole vectors cover
      CHECK(kernels.direct_tile(64, 32, 1, 27).along_pixels);
      CHECK(!kernels.direct_tile(64, 32, 1, 288).along_pixels);
      CHECK(!kernels.direct_tile(64, 17, 1, 27).along_pixels);
      CHECK(!kernels.direct_tile(64, 15, 1, 27).along_pixels);  // under a vector
      // Any channel count with up to 128 taps on rows of 128 or more (pointwise).
      CHECK(kernels.direct_tile(200, 225, 1, 72).along_pixels);
      CHECK(!kernels.direct_tile(200, 225, 1, 200).along_pixels);
      CHECK(!kernels.direct_tile(200, 81, 1, 72).along_pixels);
    }
    const DirectPlan p =
        make_forward_plan(make_conv_shape(3, 5, 32, 32, lanes, 3, 3, 1, 1, 1, 1), kernels);
    CHECK(p.tile.along_pixels);
    CHECK(p.group_width == p.tile.noc);
    CHECK(p.stage_floats == 0);
    // Backward-weights: fewer than 4 channel vectors, whole vectors covering the rows.
    CHECK(kernels.weight_tile(lanes, 32).along_pixels);
    CHECK(kernels.weight_tile(3, 4 * lanes).along_pixels);
    CHECK(!kernels.weight_tile(4 * lanes, 32).along_pixels);
    CHECK(!kernels.weight_tile(lanes, lanes + 1).along_pixels);  // a vector for one pixel
    // At a stride, x packed in column phases.
    const WeightGradPlan strided =
        make_weight_grad_plan(make_conv_shape(2, 3, 64, 64, lanes, 3, 3, 2, 2, 1, 1), kernels, 1);
    CHECK(strided.tile.along_pixels);
    CHECK(strided.src.col_phases == 2);
  }
}

TEST_CASE("conv2d kernels: bitwise the same for 1, 2 and 3 threads") {
  Rng rng(11);
  // One chunk of images (threads share it), and 5 chunks of one 32x32 image each: 2 threads
  // take whole chunks of their own, 3 share each chunk (backward-weights' two schedules).
  // And 264 output channels forward, then backward-data: 9 or 17 channel groups, which
  // threads split unevenly within a chunk. And 8 output channels on 32-wide rows: the
  // pixel-vector tile.
  for (const ConvShape& s : {make_conv_shape(7, 24, 6, 6, 40, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(5, 5, 32, 32, 20, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 4, 5, 5, 264, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 264, 5, 5, 4, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(5, 6, 32, 32, 8, 3, 3, 1, 1, 1, 1)}) {
    CAPTURE(s.n);
    Tensor x = random_tensor({s.n, s.c, s.h, s.w}, rng), w = random_tensor({s.k, s.c, 3, 3}, rng);
    Tensor b = random_tensor({s.k}, rng), dy = random_tensor({s.n, s.k, s.ho, s.wo}, rng);
    const int saved = num_threads();
    for (Isa isa : fast_isas()) {
      CAPTURE(isa_name(isa));
      IsaScope scope(isa);
      set_num_threads(1);
      const Passes one = run_passes(s, x, w, b, dy);
      for (int threads : {2, 3}) {
        set_num_threads(threads);
        const Passes many = run_passes(s, x, w, b, dy);
        CHECK(many.y.to_vector() == one.y.to_vector());
        CHECK(many.dx.to_vector() == one.dx.to_vector());
        CHECK(many.dw.to_vector() == one.dw.to_vector());
      }
    }
    set_num_threads(saved);
  }
}

TEST_CASE("conv2d kernels: plans fit the caches they are given, and every plan is right") {
  struct CacheScope {  // the machine's caches again at the end, even if a check throws
    ~CacheScope() { reset_cache_sizes(); }
  } restore;
  Rng rng(12);
  const ConvShape vgg = make_conv_shape(64, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1);
  const ConvShape odd = make_conv_shape(9, 13, 11, 7, 19, 3, 2, 2, 1, 1, 0);
  int64_t previous_chunks = 0;
  for (int64_t l2 : {int64_t{64} << 20, int64_t{2} << 20, int64_t{256} << 10, int64_t{16} << 10}) {
    CAPTURE(l2);
    set_cache_sizes({32 << 10, l2, 32 << 20});
    for (Isa isa : fast_isas()) {
      CAPTURE(isa_name(isa));
      const Conv2dIsa& kernels = kernels_of(isa);
      for (const DirectPlan& p : {make_forward_plan(vgg, kernels),
                                  make_backward_data_plan(vgg, kernels).phases[0].direct}) {
        CHECK(p.chunk_bytes == std::max<int64_t>(16 << 10, l2 * 3 / 16));
        // A chunk and its stage fit the share of L2, unless one tile's images alone are larger.
        const int64_t bytes = 4 * (p.chunk_floats + p.stage_floats);
        CHECK((bytes <= p.chunk_bytes + 4096 || p.images_per_chunk <= p.tile.segs));
        CHECK(p.chunks * p.images_per_chunk >= p.n);
      }
      const DirectPlan f = make_forward_plan(vgg, kernels);
      if (isa == fast_isas().front()) {
        CHECK(f.chunks >= previous_chunks);  // smaller caches, smaller chunks
        previous_chunks = f.chunks;
      }
    }
    check_against_reference(odd, rng);
    check_against_reference(make_conv_shape(6, 8, 16, 16, 16, 3, 3, 1, 1, 1, 1), rng);
  }
  if (!fast_isas().empty()) CHECK(previous_chunks > 1);  // the smallest L2 splits the batch
}

TEST_CASE("conv2d kernels: pointwise convolutions run along each image's pixels as one row") {
  for (Isa isa : fast_isas()) {
    CAPTURE(isa_name(isa));
    const Conv2dIsa& kernels = kernels_of(isa);
    const DirectPlan p =
        make_forward_plan(make_conv_shape(4, 200, 9, 9, 72, 1, 1, 1, 1, 0, 0), kernels);
    CHECK(p.out_h == 1);
    CHECK(p.out_w == 81);
    // Not with padding or a stride, where the rows differ.
    CHECK(make_forward_plan(make_conv_shape(4, 8, 9, 9, 8, 1, 1, 1, 1, 1, 1), kernels).out_h == 11);
    CHECK(make_forward_plan(make_conv_shape(4, 8, 9, 9, 8, 1, 1, 2, 2, 0, 0), kernels).out_h == 5);
  }
  // At a stride, its pixels are gathered first: strides 2 and 3, rows and columns apart, odd
  // sizes, few and many channels.
  Rng rng(23);
  for (const ConvShape& s : {make_conv_shape(3, 20, 9, 7, 40, 1, 1, 1, 1, 0, 0),
                             make_conv_shape(3, 16, 32, 32, 32, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(2, 7, 17, 15, 70, 1, 1, 2, 3, 0, 0),
                             make_conv_shape(2, 5, 9, 16, 9, 1, 1, 3, 1, 0, 0)})
    check_against_reference(s, rng);
}

TEST_CASE("conv2d kernels: channel tiles fit odd rows and channel counts") {
  // Runs of 3 where rows of 9 leave fewer pixels spare than runs of 4 (AVX-512) or 2 (AVX2),
  // not on rows of 32; a last group with one vector of channels left (72 = 2 x 32 + 8 on
  // AVX-512, 40 = 2 x 16 + 8 on AVX2) runs one-vector tiles; runs of 3 at column stride 2 too
  // (17 wide at stride 2: 9 outputs).
  for (Isa isa : fast_isas()) {
    CAPTURE(isa_name(isa));
    const Conv2dIsa& kernels = kernels_of(isa);
    CHECK(kernels.direct_tile(72, 9, 1, 288).seg_len == 3);
    CHECK(kernels.direct_tile(72, 32, 1, 288).seg_len != 3);
  }
  Rng rng(29);
  for (const ConvShape& s : {make_conv_shape(2, 10, 9, 9, 72, 3, 3, 1, 1, 1, 1),
                             make_conv_shape(3, 7, 17, 17, 40, 5, 5, 1, 1, 2, 2),
                             make_conv_shape(2, 9, 15, 13, 72, 3, 3, 2, 2, 1, 1),
                             make_conv_shape(2, 5, 17, 17, 20, 3, 3, 2, 2, 1, 1)})
    check_against_reference(s, rng);
}

TEST_CASE("conv2d kernels: backward-data's phases share their packed chunks") {
  // 3x3 at stride 2, pad 1: the four phases pad dy alike and read one packing. 5x5 at stride 2,
  // pad 2: even phases pad by one more, so odd ones read the shared plane one row or column in.
  // Rows of 9 at stride 2: phases of 5 and 4 columns take tiles that pack differently (runs along
  // a row, and runs across images on AVX-512), so two phases pack. An unpadded 1x1 at stride 2:
  // one phase with taps, pointwise, as one row.
  for (Isa isa : fast_isas()) {
    CAPTURE(isa_name(isa));
    const Conv2dIsa& kernels = kernels_of(isa);
    auto packing = [&](const ConvShape& s) {
      const BackwardDataPlan plan = make_backward_data_plan(s, kernels);
      int64_t packs = 0, shifted = 0, with_taps = 0;
      for (const BackwardDataPhase& phase : plan.phases) {
        packs += phase.packs;
        with_taps += phase.has_taps;
        shifted += phase.has_taps && (phase.direct.shift_h != 0 || phase.direct.shift_w != 0);
      }
      CHECK(plan.thread_floats > 0);
      return std::array<int64_t, 3>{with_taps, packs, shifted};
    };
    CHECK(packing(make_conv_shape(4, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1)) ==
          std::array<int64_t, 3>{4, 1, 0});
    CHECK(packing(make_conv_shape(4, 16, 32, 32, 32, 5, 5, 2, 2, 2, 2)) ==
          std::array<int64_t, 3>{4, 1, 3});
    if (isa == Isa::avx512)
      CHECK(packing(make_conv_shape(4, 40, 9, 9, 72, 3, 3, 2, 2, 1, 1))[1] == 2);
    const ConvShape shortcut = make_conv_shape(4, 16, 32, 32, 32, 1, 1, 2, 2, 0, 0);
    CHECK(packing(shortcut) == std::array<int64_t, 3>{1, 1, 0});
    const BackwardDataPlan pointwise = make_backward_data_plan(shortcut, kernels);
    CHECK(pointwise.phases[0].direct.out_h == 1);
    CHECK(pointwise.phases[0].direct.out_w == 256);
    // dy read where it lies: an unpadded phase with one group of output channels (4 on either
    // ISA's pixel tiles); not phases that share a packed plane, nor several groups, nor padding.
    const DirectPlan few =
        make_backward_data_plan(make_conv_shape(4, 4, 32, 32, 32, 1, 1, 2, 2, 0, 0), kernels)
            .phases[0]
            .direct;
    CHECK(few.in_place);
    CHECK(few.chunk_floats == 0);
    for (const BackwardDataPhase& phase :
         make_backward_data_plan(make_conv_shape(4, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1), kernels)
             .phases)
      CHECK(!phase.direct.in_place);
    CHECK(!make_forward_plan(make_conv_shape(4, 8, 9, 9, 200, 1, 1, 1, 1, 0, 0), kernels).in_place);
    CHECK(!make_forward_plan(make_conv_shape(4, 8, 9, 9, 16, 3, 3, 1, 1, 1, 1), kernels).in_place);
    CHECK(make_forward_plan(make_conv_shape(4, 8, 9, 9, 4, 1, 1, 1, 1, 0, 0), kernels).in_place);
  }
  Rng rng(31);
  const int saved = num_threads();
  for (const ConvShape& s : {make_conv_shape(5, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1),
                             make_conv_shape(3, 6, 19, 17, 10, 5, 5, 2, 2, 2, 2),
                             make_conv_shape(9, 40, 9, 9, 72, 3, 3, 2, 2, 1, 1),
                             make_conv_shape(3, 16, 15, 32, 32, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(3, 32, 16, 16, 64, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(2, 24, 9, 9, 40, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(3, 4, 32, 32, 32, 1, 1, 2, 2, 0, 0),
                             make_conv_shape(2, 5, 14, 13, 7, 3, 3, 3, 2, 1, 0)}) {
    // Threads split the images: fewer images than threads, and shares of uneven length.
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      check_against_reference(s, rng);
    }
  }
  set_num_threads(saved);
}

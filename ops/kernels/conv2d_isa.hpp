// The contract between the convolution driver (conv2d_kernels.cpp) and an ISA file
// (conv2d_avx512.cpp, conv2d_avx2.cpp), oneDNN style: each ISA file exports one Conv2dIsa,
// and in it, side by side, the tiles it compiles, how it chooses among them for a shape, and
// what runs them: the direct tiles over the groups of one packed chunk (the driver packs and
// splits the work between threads), the weight tiles over a whole pass. A plan is always made with
// the ISA that runs it (make_forward_plan(s, isa)), so its tile is one that ISA compiled. Use an
// ISA's kernels only when active_isa() allows it.
#pragma once

#include <cstdint>

#include "ops/kernels/conv2d_plan.hpp"

namespace prism::kernels {

// One chunk of a direct pass: images [first, first + images) of the batch, packed by
// pack_direct_source into data, or data the source itself when the plan reads it in place.
struct PackedChunk {
  const float* data;
  int64_t first, images;
};

struct Conv2dIsa {
  const char* name;
  int lanes;  // floats a vector
  // The register tiles for a shape; only tiles this ISA compiles.
  DirectTile (*direct_tile)(int64_t out_c, int64_t out_w, int64_t stride_w, int64_t taps);
  WeightTile (*weight_tile)(int64_t out_c, int64_t out_w);
  // Output channel groups [g0, g1) of the direct convolution of one packed chunk with weights w
  // packed by pack_direct_weights, plus bias if not null, into out (NCHW, from the chunk's
  // first image on). stage: p.stage_floats. Threads, packing and chunks are the caller's.
  // False only if the plan's tile is not one this ISA compiles (a bug in the plan).
  bool (*direct)(const DirectPlan& p, const PackedChunk& chunk, int64_t g0, int64_t g1,
                 const float* w, const float* bias, float* out, float* stage);
  // acc (WeightGradPlan::acc_floats, every element written) = the backward-weights sums.
  // scratch: p.scratch_floats().
  bool (*weight_grad)(const WeightGradPlan& p, const float* x, const float* dy, float* acc,
                      float* scratch);
};

const Conv2dIsa& conv2d_avx512();
const Conv2dIsa& conv2d_avx2();

}  // namespace prism::kernels

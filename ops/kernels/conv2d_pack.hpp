// The loops that move the SIMD convolution's operands into the layouts its plans describe
// (conv2d_plan.hpp) and back. They do no arithmetic, so they need no ISA flags and serve every
// ISA.
#pragma once

#include <cstdint>

#include "ops/kernels/conv2d_plan.hpp"

namespace prism::kernels {

// Weights as the direct kernel reads them, [group][a][i][b][group_width] (zero past out_c),
// into out[p.packed_weight_floats()].
void pack_direct_weights(const DirectPlan& p, const float* w, float* out);
// Packs images [first_image, first_image + images) of src[N, in_c, in_h, in_w] (images <=
// p.images_per_chunk; the chunk's other images are zeros), planes [first, last) of the chunk,
// into dst (zeros around and between the data). Planes are numbered in the packed order: image
// by image, or channel by channel when images are innermost (p.image_stride == 1), and then
// [first, last) must hold whole channels.
void pack_direct_source(const DirectPlan& p, const float* src, int64_t first_image, int64_t images,
                        int64_t first, int64_t last, float* dst);

// dw[K, C, kh, kw] from the tile sums (WeightGradPlan::acc_floats, laid out as it says).
void unpack_weight_grad(const WeightGradPlan& p, const float* acc, float* dw);

}  // namespace prism::kernels

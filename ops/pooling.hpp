// Pooling, NCHW: max, average, and global average.
#pragma once

#include "core/autograd.hpp"
#include "core/types.hpp"

namespace prism {

// The windows of both poolings: ksize every `stride` (0 means stride = ksize), with `pad` rows
// and columns of padding on each side, 0 <= pad < ksize; each one number for both dimensions
// or a pair {h, w}. Chainer's cover_all=false: only whole windows,
// Ho = (H + 2 * pad.h - ksize.h) / stride.h + 1, and likewise Wo.

// The maximum of each window; padding never wins it.
Variable max_pooling_2d(const Variable& x, Size2 ksize, Size2 stride = 0, Size2 pad = 0);

// What an average over a window that overlaps the padding divides by.
enum class PadCount {
  include,  // the whole window, padding counted as zeros (PyTorch's count_include_pad=True,
            // its default, and Chainer's average_pooling_2d)
  exclude,  // only the inputs inside the image (count_include_pad=False)
};

// The mean of each window.
Variable average_pooling_2d(const Variable& x, Size2 ksize, Size2 stride = 0, Size2 pad = 0,
                            PadCount pad_count = PadCount::include);

// x [N, C, H, W] -> [N, C]: the mean of each plane, ready for a Linear layer (PyTorch's
// AdaptiveAvgPool2d(1) then flatten).
Variable global_average_pooling_2d(const Variable& x);

}  // namespace prism

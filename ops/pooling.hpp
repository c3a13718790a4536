// Max pooling, NCHW.
#pragma once

#include "core/autograd.hpp"

namespace prism {

// Windows of ksize x ksize every `stride` (0 means stride = ksize), zero-size padding `pad`
// that never wins the max. Chainer's cover_all=false: Ho = (H + 2*pad - ksize) / stride + 1.
Variable max_pooling_2d(const Variable& x, int64_t ksize, int64_t stride = 0, int64_t pad = 0);

}  // namespace prism

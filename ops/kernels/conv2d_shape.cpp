#include "ops/kernels/conv2d_shape.hpp"

#include "core/error.hpp"

namespace prism::kernels {

ConvShape make_conv_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                          int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  PRISM_CHECK(n > 0 && c > 0 && h > 0 && w > 0 && k > 0 && kh > 0 && kw > 0,
              "conv2d: all sizes must be positive, got N=" << n << " C=" << c << " H=" << h
                                                           << " W=" << w << " K=" << k
                                                           << " kh=" << kh << " kw=" << kw);
  PRISM_CHECK(sh >= 1 && sw >= 1,
              "conv2d: stride must be at least 1, got (" << sh << ", " << sw << ")");
  PRISM_CHECK(ph >= 0 && pw >= 0,
              "conv2d: pad must be non-negative, got (" << ph << ", " << pw << ")");
  // Checked before dividing: C++ division truncates toward zero, so a negative numerator
  // would still give an output size of 1.
  PRISM_CHECK(kh <= h + 2 * ph && kw <= w + 2 * pw,
              "conv2d: kernel " << kh << "x" << kw << " is larger than the padded input "
                                << h + 2 * ph << "x" << w + 2 * pw << " (H=" << h << " W=" << w
                                << " pad=(" << ph << ", " << pw << "))");
  const int64_t ho = (h + 2 * ph - kh) / sh + 1, wo = (w + 2 * pw - kw) / sw + 1;
  return {n, c, h, w, k, kh, kw, sh, sw, ph, pw, ho, wo};
}

}  // namespace prism::kernels

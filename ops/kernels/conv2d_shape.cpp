#include "ops/kernels/conv2d_shape.hpp"

#include <string>

#include "core/error.hpp"

namespace prism::kernels {

ConvShape make_conv_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                          int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dil_h,
                          int64_t dil_w) {
  PRISM_CHECK(n > 0 && c > 0 && h > 0 && w > 0 && k > 0 && kh > 0 && kw > 0,
              "conv2d: all sizes must be positive, got N=" << n << " C=" << c << " H=" << h
                                                           << " W=" << w << " K=" << k
                                                           << " kh=" << kh << " kw=" << kw);
  PRISM_CHECK(sh >= 1 && sw >= 1,
              "conv2d: stride must be at least 1, got (" << sh << ", " << sw << ")");
  PRISM_CHECK(ph >= 0 && pw >= 0,
              "conv2d: pad must be non-negative, got (" << ph << ", " << pw << ")");
  PRISM_CHECK(dil_h >= 1 && dil_w >= 1,
              "conv2d: dilation must be at least 1, got (" << dil_h << ", " << dil_w << ")");
  ConvShape s{n, c, h, w, k, kh, kw, sh, sw, ph, pw, dil_h, dil_w, 0, 0};
  // Checked before dividing: C++ division truncates toward zero, so a negative numerator
  // would still give an output size of 1.
  const std::string dilated = dil_h * dil_w > 1 ? " dilated to " + std::to_string(s.extent_h()) +
                                                      "x" + std::to_string(s.extent_w())
                                                : "";
  PRISM_CHECK(s.extent_h() <= h + 2 * ph && s.extent_w() <= w + 2 * pw,
              "conv2d: kernel " << kh << "x" << kw << dilated << " is larger than the padded input "
                                << h + 2 * ph << "x" << w + 2 * pw << " (H=" << h << " W=" << w
                                << " pad=(" << ph << ", " << pw << "))");
  s.ho = (h + 2 * ph - s.extent_h()) / sh + 1;
  s.wo = (w + 2 * pw - s.extent_w()) / sw + 1;
  return s;
}

}  // namespace prism::kernels

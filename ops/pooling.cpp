#include "ops/pooling.hpp"

#include <limits>
#include <vector>

namespace prism {

Variable max_pooling_2d(const Variable& x, int64_t ksize, int64_t stride, int64_t pad) {
  if (stride == 0) stride = ksize;
  PRISM_CHECK(x.defined() && x.data().dim() == 4,
              "max_pooling_2d: needs x [N, C, H, W], got " << shape_string(x));
  PRISM_CHECK(ksize >= 1 && stride >= 1 && pad >= 0 && pad < ksize,
              "max_pooling_2d: needs ksize >= 1, stride >= 0 and 0 <= pad < ksize, got ksize "
                  << ksize << ", stride " << stride << ", pad " << pad);
  const Shape& xs = x.shape();
  const int64_t n = xs[0], c = xs[1], h = xs[2], w = xs[3];
  PRISM_CHECK(ksize <= h + 2 * pad && ksize <= w + 2 * pad,
              "max_pooling_2d: window " << ksize << " is larger than the padded input "
                                        << to_string(xs) << " with pad " << pad);
  const int64_t ho = (h + 2 * pad - ksize) / stride + 1, wo = (w + 2 * pad - ksize) / stride + 1;

  // Forward keeps, for every output, the flat input index of its maximum (the first one in
  // scan order on ties); backward routes each gradient there. Padding never wins: every
  // window holds at least one real input because pad < ksize.
  Tensor tx = x.data();
  Tensor y({n, c, ho, wo});
  auto argmax = std::make_shared<std::vector<int64_t>>(y.numel());
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const float* xp = tx.data() + plane * h * w;
    for (int64_t oh = 0; oh < ho; ++oh)
      for (int64_t ow = 0; ow < wo; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_at = -1;
        for (int64_t ih = oh * stride - pad; ih < oh * stride - pad + ksize; ++ih)
          for (int64_t iw = ow * stride - pad; iw < ow * stride - pad + ksize; ++iw) {
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            const float v = xp[ih * w + iw];
            if (best_at < 0 || v > best) best = v, best_at = ih * w + iw;
          }
        const int64_t out = (plane * ho + oh) * wo + ow;
        y[out] = best;
        (*argmax)[out] = plane * h * w + best_at;
      }
  }

  return Variable::make(y, {x}, [argmax, xshape = xs](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g(xshape);
    for (int64_t out = 0; out < gy.numel(); ++out)
      g[(*argmax)[out]] += gy[out];
    in[0].add_grad(std::move(g));
  });
}

}  // namespace prism

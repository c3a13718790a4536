#include "ops/kernels/conv2d_reference.hpp"

#include <algorithm>
#include <vector>

namespace prism::kernels {

namespace {

using Unit = std::integral_constant<int64_t, 1>;  // column stride 1, known at compile time

// The output positions o in [lo, hi) whose input position o * stride + offset lies in [0, in).
// Computed once per kernel tap, so the inner loops carry no bounds test and vectorize.
struct Range {
  int64_t lo, hi;
};
Range valid_outputs(int64_t offset, int64_t stride, int64_t in, int64_t out) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = in - offset <= 0 ? 0 : std::min(out, (in - 1 - offset) / stride + 1);
  return {lo, std::max(lo, hi)};
}

// One kernel tap (i, j): output (oh, ow) reads input (oh * sh + di, ow * sw + dj), for the
// output rows and columns in rows and cols.
struct Tap {
  int64_t i, j, di, dj;
  Range rows, cols;
};

// Calls f(tap) for every kernel tap; shared by the three passes, which differ only in what
// they do per tap. `sw` is the column stride (the inner loops' step), s.sh the row stride.
template <class Stride, class F>
void for_each_tap(const ConvShape& s, Stride sw, F&& f) {
  for (int64_t i = 0; i < s.kh; ++i) {
    const int64_t di = i * s.dil_h - s.ph;
    const Range rows = valid_outputs(di, s.sh, s.h, s.ho);
    for (int64_t j = 0; j < s.kw; ++j) {
      const int64_t dj = j * s.dil_w - s.pw;
      f(Tap{i, j, di, dj, rows, valid_outputs(dj, sw, s.w, s.wo)});
    }
  }
}

// Each thread owns whole output planes y[n, k], so every element is summed by one thread in a
// fixed order: the result does not depend on the thread count.
template <class Stride>
void conv2d_forward(const ConvShape& s, Stride sw, const float* x, const float* w,
                    const float* bias, float* y) {
  const int64_t in_plane = s.h * s.w, out_plane = s.ho * s.wo;
#pragma omp parallel for schedule(static)
  for (int64_t nk = 0; nk < s.n * s.k; ++nk) {
    const int64_t n = nk / s.k, k = nk % s.k;
    float* yp = y + nk * out_plane;
    std::fill(yp, yp + out_plane, bias ? bias[k] : 0.0f);
    for (int64_t c = 0; c < s.c; ++c) {
      const float* xp = x + (n * s.c + c) * in_plane;
      const float* wp = w + (k * s.c + c) * s.kh * s.kw;
      for_each_tap(s, sw, [&](const Tap& t) {
        const float wv = wp[t.i * s.kw + t.j];
        for (int64_t oh = t.rows.lo; oh < t.rows.hi; ++oh) {
          const float* xrow = xp + (oh * s.sh + t.di) * s.w;
          float* yrow = yp + oh * s.wo;
          for (int64_t ow = t.cols.lo; ow < t.cols.hi; ++ow)
            yrow[ow] += wv * xrow[ow * sw + t.dj];
        }
      });
    }
  }
}

// The same taps as the forward pass with the roles swapped: each thread owns whole input-gradient
// planes dx[n, c] and scatters dy into them.
template <class Stride>
void conv2d_backward_data(const ConvShape& s, Stride sw, const float* dy, const float* w,
                          float* dx) {
  const int64_t in_plane = s.h * s.w, out_plane = s.ho * s.wo;
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < s.n * s.c; ++nc) {
    const int64_t n = nc / s.c, c = nc % s.c;
    float* dxp = dx + nc * in_plane;
    std::fill(dxp, dxp + in_plane, 0.0f);
    for (int64_t k = 0; k < s.k; ++k) {
      const float* dyp = dy + (n * s.k + k) * out_plane;
      const float* wp = w + (k * s.c + c) * s.kh * s.kw;
      for_each_tap(s, sw, [&](const Tap& t) {
        const float wv = wp[t.i * s.kw + t.j];
        for (int64_t oh = t.rows.lo; oh < t.rows.hi; ++oh) {
          float* dxrow = dxp + (oh * s.sh + t.di) * s.w;
          const float* dyrow = dyp + oh * s.wo;
          for (int64_t ow = t.cols.lo; ow < t.cols.hi; ++ow)
            dxrow[ow * sw + t.dj] += wv * dyrow[ow];
        }
      });
    }
  }
}

// Each thread owns whole filters dw[k, c]. A weight is a sum over the batch and all output
// positions; it is first summed per output column into `part` (an elementwise loop, which
// vectorizes without reordering a reduction), then across the columns.
template <class Stride>
void conv2d_backward_weights(const ConvShape& s, Stride sw, const float* x, const float* dy,
                             float* dw) {
  const int64_t in_plane = s.h * s.w, out_plane = s.ho * s.wo;
#pragma omp parallel for schedule(static)
  for (int64_t kc = 0; kc < s.k * s.c; ++kc) {
    const int64_t k = kc / s.c, c = kc % s.c;
    std::vector<float> part(s.wo);
    for_each_tap(s, sw, [&](const Tap& t) {
      std::fill(part.begin(), part.end(), 0.0f);
      float* pp = part.data();
      for (int64_t n = 0; n < s.n; ++n) {
        const float* xp = x + (n * s.c + c) * in_plane;
        const float* dyp = dy + (n * s.k + k) * out_plane;
        for (int64_t oh = t.rows.lo; oh < t.rows.hi; ++oh) {
          const float* xrow = xp + (oh * s.sh + t.di) * s.w;
          const float* dyrow = dyp + oh * s.wo;
          for (int64_t ow = t.cols.lo; ow < t.cols.hi; ++ow)
            pp[ow] += dyrow[ow] * xrow[ow * sw + t.dj];
        }
      }
      float sum = 0.0f;
      for (int64_t ow = t.cols.lo; ow < t.cols.hi; ++ow)
        sum += pp[ow];
      dw[(kc * s.kh + t.i) * s.kw + t.j] = sum;
    });
  }
}

}  // namespace

void conv2d_forward_reference(const ConvShape& s, const float* x, const float* w, const float* bias,
                              float* y) {
  if (s.sw == 1) return conv2d_forward(s, Unit{}, x, w, bias, y);
  conv2d_forward(s, s.sw, x, w, bias, y);
}

void conv2d_backward_data_reference(const ConvShape& s, const float* dy, const float* w,
                                    float* dx) {
  if (s.sw == 1) return conv2d_backward_data(s, Unit{}, dy, w, dx);
  conv2d_backward_data(s, s.sw, dy, w, dx);
}

void conv2d_backward_weights_reference(const ConvShape& s, const float* x, const float* dy,
                                       float* dw) {
  if (s.sw == 1) return conv2d_backward_weights(s, Unit{}, x, dy, dw);
  conv2d_backward_weights(s, s.sw, x, dy, dw);
}

void conv2d_backward_bias(const ConvShape& s, const float* dy, float* db) {
  const int64_t plane = s.ho * s.wo;
  std::fill(db, db + s.k, 0.0f);
  for (int64_t nk = 0; nk < s.n * s.k; ++nk) {
    float acc = 0;
    for (int64_t q = 0; q < plane; ++q)
      acc += dy[nk * plane + q];
    db[nk % s.k] += acc;
  }
}

}  // namespace prism::kernels

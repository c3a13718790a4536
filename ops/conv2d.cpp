#include "ops/conv2d.hpp"

#include <algorithm>

#include "core/profiler.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "ops/kernels/conv2d_reference.hpp"  // conv2d_backward_bias: one kernel for every ISA

namespace prism {

using kernels::ConvShape;

namespace {

// Channels [first, first + count) of every image of t [N, channels, plane] into out
// [N, count, plane], or (put) back.
void take_channels(const float* t, int64_t n, int64_t channels, int64_t plane, int64_t first,
                   int64_t count, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(t + (i * channels + first) * plane, count * plane, out + i * count * plane);
}
void put_channels(const float* part, int64_t n, int64_t channels, int64_t plane, int64_t first,
                  int64_t count, float* t) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(part + i * count * plane, count * plane, t + (i * channels + first) * plane);
}

// One group's convolution: s is the group's shape (s.c and s.k per group); the whole tensors'
// channels are s.c * groups and s.k * groups. Group g reads input channels [g * s.c, ...),
// filters [g * s.k, ...) and writes output channels [g * s.k, ...). With one group the
// kernels read and write the tensors in place; with more, each group's channels are copied
// into contiguous buffers for the same kernels.
struct Groups {
  ConvShape s;
  int64_t groups;
  int64_t in_plane() const { return s.h * s.w; }
  int64_t out_plane() const { return s.ho * s.wo; }
  int64_t weights() const { return s.k * s.c * s.kh * s.kw; }  // per group

  void forward(const float* x, const float* w, const float* bias, float* y) const {
    if (groups == 1) return kernels::conv2d_forward(s, x, w, bias, y);
    Tensor xg = Tensor::empty({s.n, s.c, s.h, s.w}), yg = Tensor::empty({s.n, s.k, s.ho, s.wo});
    for (int64_t g = 0; g < groups; ++g) {
      take_channels(x, s.n, s.c * groups, in_plane(), g * s.c, s.c, xg.data());
      kernels::conv2d_forward(s, xg.data(), w + g * weights(), bias ? bias + g * s.k : nullptr,
                              yg.data());
      put_channels(yg.data(), s.n, s.k * groups, out_plane(), g * s.k, s.k, y);
    }
  }
  void backward_data(const float* dy, const float* w, float* dx) const {
    if (groups == 1) return kernels::conv2d_backward_data(s, dy, w, dx);
    Tensor dyg = Tensor::empty({s.n, s.k, s.ho, s.wo}), dxg = Tensor::empty({s.n, s.c, s.h, s.w});
    for (int64_t g = 0; g < groups; ++g) {
      take_channels(dy, s.n, s.k * groups, out_plane(), g * s.k, s.k, dyg.data());
      kernels::conv2d_backward_data(s, dyg.data(), w + g * weights(), dxg.data());
      put_channels(dxg.data(), s.n, s.c * groups, in_plane(), g * s.c, s.c, dx);
    }
  }
  void backward_weights(const float* x, const float* dy, float* dw) const {
    if (groups == 1) return kernels::conv2d_backward_weights(s, x, dy, dw);
    Tensor xg = Tensor::empty({s.n, s.c, s.h, s.w}), dyg = Tensor::empty({s.n, s.k, s.ho, s.wo});
    for (int64_t g = 0; g < groups; ++g) {
      take_channels(x, s.n, s.c * groups, in_plane(), g * s.c, s.c, xg.data());
      take_channels(dy, s.n, s.k * groups, out_plane(), g * s.k, s.k, dyg.data());
      kernels::conv2d_backward_weights(s, xg.data(), dyg.data(), dw + g * weights());
    }
  }
};

}  // namespace

Variable conv2d(const Variable& x, const Variable& w, const Variable& b, Size2 stride, Size2 pad,
                int64_t groups, Size2 dilation) {
  profile::Scope scope("conv2d");
  check_unsharded(x, "conv2d");
  PRISM_CHECK(x.defined() && w.defined() && x.data().dim() == 4 && w.data().dim() == 4,
              "conv2d: needs x [N, C, H, W] and w [K, C / groups, kh, kw], got x "
                  << shape_string(x) << ", w " << shape_string(w));
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  PRISM_CHECK(groups >= 1 && xs[1] % groups == 0 && ws[0] % groups == 0,
              "conv2d: groups must be >= 1 and divide the input channels and the filters, got "
                  << groups << " groups for x " << to_string(xs) << " and w " << to_string(ws));
  PRISM_CHECK(xs[1] == ws[1] * groups, "conv2d: x " << to_string(xs) << " has " << xs[1]
                                                    << " channels but w " << to_string(ws)
                                                    << " with " << groups << " group(s) expects "
                                                    << ws[1] * groups);
  const Groups conv{
      kernels::make_conv_shape(xs[0], xs[1] / groups, xs[2], xs[3], ws[0] / groups, ws[2], ws[3],
                               stride.h, stride.w, pad.h, pad.w, dilation.h, dilation.w),
      groups};
  const ConvShape& s = conv.s;
  const int64_t k = ws[0];
  if (b.defined())
    PRISM_CHECK(b.shape() == Shape{k}, "conv2d: bias " << to_string(b.shape()) << " for w "
                                                       << to_string(ws) << " needs [" << k << "]");
  // Nominal flops of each pass: every tap of every output, padding included.
  const double flops = 2.0 * double(s.n * k * s.ho * s.wo) * double(s.c * s.kh * s.kw);
  profile::add_flops(flops);
  Tensor tx = x.data(), tw = w.data();
  Tensor y = Tensor::empty({s.n, k, s.ho, s.wo});  // the kernels write every element
  conv.forward(tx.data(), tw.data(), b.defined() ? b.data().data() : nullptr, y.data());

  std::vector<Variable> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return Variable::make(y, inputs, [=](std::vector<Variable>& in, const Tensor& gy) {
    if (in[0].requires_grad()) {
      profile::add_flops(flops);
      Tensor g = Tensor::empty(tx.shape());
      conv.backward_data(gy.data(), tw.data(), g.data());
      in[0].add_grad(std::move(g));
    }
    if (in[1].requires_grad()) {
      profile::add_flops(flops);
      Tensor g = Tensor::empty(tw.shape());
      conv.backward_weights(tx.data(), gy.data(), g.data());
      in[1].add_grad(std::move(g));
    }
    if (in.size() > 2 && in[2].requires_grad()) {
      Tensor g = Tensor::empty({k});
      ConvShape whole = s;
      whole.k = k;  // a bias gradient is per output channel, whatever the groups
      kernels::conv2d_backward_bias(whole, gy.data(), g.data());
      in[2].add_grad(std::move(g));
    }
  });
}

}  // namespace prism

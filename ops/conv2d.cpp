#include "ops/conv2d.hpp"

#include "core/profiler.hpp"
#include "ops/kernels/conv2d_kernels.hpp"
#include "ops/kernels/conv2d_reference.hpp"  // conv2d_backward_bias: one kernel for every ISA

namespace prism {

using kernels::ConvShape;

Variable conv2d(const Variable& x, const Variable& w, const Variable& b, Size2 stride, Size2 pad) {
  profile::Scope scope("conv2d");
  check_unsharded(x, "conv2d");
  PRISM_CHECK(x.defined() && w.defined() && x.data().dim() == 4 && w.data().dim() == 4,
              "conv2d: needs x [N, C, H, W] and w [K, C, kh, kw], got x "
                  << shape_string(x) << ", w " << shape_string(w));
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  PRISM_CHECK(xs[1] == ws[1], "conv2d: x " << to_string(xs) << " has " << xs[1]
                                           << " channels but w " << to_string(ws) << " expects "
                                           << ws[1]);
  const ConvShape s = kernels::make_conv_shape(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
                                               stride.h, stride.w, pad.h, pad.w);
  if (b.defined())
    PRISM_CHECK(b.shape() == Shape{s.k}, "conv2d: bias " << to_string(b.shape()) << " for w "
                                                         << to_string(ws) << " needs [" << s.k
                                                         << "]");
  // Nominal flops of each pass: every tap of every output, padding included.
  const double flops = 2.0 * double(s.n * s.k * s.ho * s.wo) * double(s.c * s.kh * s.kw);
  profile::add_flops(flops);
  Tensor tx = x.data(), tw = w.data();
  Tensor y = Tensor::empty({s.n, s.k, s.ho, s.wo});  // the kernels write every element
  kernels::conv2d_forward(s, tx.data(), tw.data(), b.defined() ? b.data().data() : nullptr,
                          y.data());

  std::vector<Variable> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return Variable::make(y, inputs, [=](std::vector<Variable>& in, const Tensor& gy) {
    if (in[0].requires_grad()) {
      profile::add_flops(flops);
      Tensor g = Tensor::empty(tx.shape());
      kernels::conv2d_backward_data(s, gy.data(), tw.data(), g.data());
      in[0].add_grad(std::move(g));
    }
    if (in[1].requires_grad()) {
      profile::add_flops(flops);
      Tensor g = Tensor::empty(tw.shape());
      kernels::conv2d_backward_weights(s, tx.data(), gy.data(), g.data());
      in[1].add_grad(std::move(g));
    }
    if (in.size() > 2 && in[2].requires_grad()) {
      Tensor g = Tensor::empty({s.k});
      kernels::conv2d_backward_bias(s, gy.data(), g.data());
      in[2].add_grad(std::move(g));
    }
  });
}

}  // namespace prism

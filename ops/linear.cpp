#include "ops/linear.hpp"

#include "core/profiler.hpp"
#include "ops/kernels/gemm.hpp"

namespace prism {

using kernels::gemm;

Variable matmul(const Variable& a, const Variable& b) {
  profile::Scope scope("matmul");
  check_unsharded(a, "matmul");
  PRISM_CHECK(a.defined() && b.defined() && a.data().dim() == 2 && b.data().dim() == 2 &&
                  a.shape()[1] == b.shape()[0],
              "matmul: needs [M, K] x [K, N], got " << to_string(a.shape()) << " x "
                                                    << to_string(b.shape()));
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor ta = a.data(), tb = b.data();
  Tensor y({m, n});
  gemm(false, false, m, n, k, ta.data(), tb.data(), y.data(), false);
  return Variable::make(y, {a, b}, [=](std::vector<Variable>& in, const Tensor& gy) {
    if (in[0].requires_grad()) {  // dA = dY B^T
      Tensor g({m, k});
      gemm(false, true, m, k, n, gy.data(), tb.data(), g.data(), false);
      in[0].add_grad(std::move(g));
    }
    if (in[1].requires_grad()) {  // dB = A^T dY
      Tensor g({k, n});
      gemm(true, false, k, n, m, ta.data(), gy.data(), g.data(), false);
      in[1].add_grad(std::move(g));
    }
  });
}

Variable linear(const Variable& x, const Variable& w, const Variable& b) {
  profile::Scope scope("linear");
  check_unsharded(x, "linear");
  PRISM_CHECK(x.defined() && w.defined() && x.data().dim() == 2 && w.data().dim() == 2 &&
                  x.shape()[1] == w.shape()[1],
              "linear: needs x [N, in] and W [out, in], got x " << to_string(x.shape()) << ", W "
                                                                << to_string(w.shape()));
  const int64_t batch = x.shape()[0], in_size = x.shape()[1], out_size = w.shape()[0];
  if (b.defined())
    PRISM_CHECK(b.shape() == Shape{out_size},
                "linear: bias " << to_string(b.shape()) << " for " << out_size << " outputs");
  Tensor tx = x.data(), tw = w.data();
  Tensor y({batch, out_size});
  if (b.defined()) {
    const float* bias = b.data().data();  // the variable keeps the storage alive
    for (int64_t i = 0; i < batch; ++i)
      std::copy_n(bias, out_size, y.data() + i * out_size);
  }
  gemm(false, true, batch, out_size, in_size, tx.data(), tw.data(), y.data(), true);
  std::vector<Variable> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return Variable::make(y, inputs, [=](std::vector<Variable>& in, const Tensor& gy) {
    if (in[0].requires_grad()) {  // dx = dy W
      Tensor g({batch, in_size});
      gemm(false, false, batch, in_size, out_size, gy.data(), tw.data(), g.data(), false);
      in[0].add_grad(std::move(g));
    }
    if (in[1].requires_grad()) {  // dW = dy^T x
      Tensor g({out_size, in_size});
      gemm(true, false, out_size, in_size, batch, gy.data(), tx.data(), g.data(), false);
      in[1].add_grad(std::move(g));
    }
    if (in.size() > 2 && in[2].requires_grad()) {  // db = sum over the batch of dy
      Tensor g({out_size});
      for (int64_t i = 0; i < batch; ++i)
        for (int64_t j = 0; j < out_size; ++j)
          g[j] += gy[i * out_size + j];
      in[2].add_grad(std::move(g));
    }
  });
}

}  // namespace prism

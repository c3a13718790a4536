#include "ops/activation.hpp"

namespace prism {

Variable relu(const Variable& x) {
  PRISM_CHECK(x.defined(), "relu: undefined input");
  Tensor y(x.shape());
  const float* px = x.data().data();
  for (int64_t i = 0; i < y.numel(); ++i)
    y[i] = px[i] > 0.0f ? px[i] : 0.0f;
  return Variable::make(y, {x}, [y](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g(gy.shape());
    for (int64_t i = 0; i < g.numel(); ++i)
      g[i] = y[i] > 0.0f ? gy[i] : 0.0f;
    in[0].add_grad(std::move(g));
  });
}

}  // namespace prism

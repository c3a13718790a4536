#include "ops/dropout.hpp"

namespace prism {

Variable dropout(const Variable& x, float ratio, bool train, Rng& rng) {
  PRISM_CHECK(x.defined(), "dropout: undefined input");
  // Written so that NaN fails too.
  PRISM_CHECK(ratio >= 0.0f && ratio < 1.0f, "dropout: ratio must be in [0, 1), got " << ratio);
  if (!train || ratio == 0.0f) return x;
  // mask = scale where kept, 0 where dropped; one draw per element in order, so a seed fixes it.
  const float scale = 1.0f / (1.0f - ratio);
  const Tensor tx = x.data();
  Tensor mask(x.shape()), y(x.shape());
  for (int64_t i = 0; i < y.numel(); ++i) {
    mask[i] = rng.uniform() >= ratio ? scale : 0.0f;
    y[i] = tx[i] * mask[i];
  }
  return Variable::make(y, {x}, [mask](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g(gy.shape());
    for (int64_t i = 0; i < g.numel(); ++i)
      g[i] = gy[i] * mask[i];
    in[0].add_grad(std::move(g));
  });
}

}  // namespace prism

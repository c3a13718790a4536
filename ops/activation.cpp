#include "ops/activation.hpp"

#include "core/parallel.hpp"
#include "core/profiler.hpp"

namespace prism {

// Backward takes its mask from the output (y > 0), so it keeps y rather than x.
Variable relu(const Variable& x) {
  profile::Scope scope("relu");
  PRISM_CHECK(x.defined(), "relu: undefined input");
  const Tensor tx = x.data();
  Tensor y = Tensor::empty(x.shape());
  const int64_t n = y.numel();
  const float* px = tx.data();
  float* py = y.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i)
    py[i] = px[i] > 0.0f ? px[i] : 0.0f;
  return Variable::make(y, {x}, [y, n](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g = Tensor::empty(gy.shape());
    const float *pyo = y.data(), *pgy = gy.data();
    float* pg = g.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
    for (int64_t i = 0; i < n; ++i)
      pg[i] = pyo[i] > 0.0f ? pgy[i] : 0.0f;
    in[0].add_grad(std::move(g));
  });
}

}  // namespace prism

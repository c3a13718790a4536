#include "ops/activation.hpp"

#include <bit>
#include <cstdint>

#include "core/parallel.hpp"
#include "core/profiler.hpp"

namespace prism {

namespace {

// The gradient where the output is positive, +0 elsewhere, as a bit mask: both operands are
// loaded whatever the test says, so the loop vectorizes (a select whose second operand is
// loaded only when the test holds does not).
inline float relu_mask(float y, float gy) {
  return std::bit_cast<float>(std::bit_cast<uint32_t>(gy) & -uint32_t{y > 0.0f});
}

}  // namespace

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
      pg[i] = relu_mask(pyo[i], pgy[i]);
    in[0].add_grad(std::move(g));
  });
}

Variable add_relu(const Variable& a, const Variable& b) {
  profile::Scope scope("add_relu");
  PRISM_CHECK(a.defined() && b.defined() && a.shape() == b.shape(),
              "add_relu: needs a and b of one shape, got " << shape_string(a) << " and "
                                                           << shape_string(b));
  Tensor y = Tensor::empty(a.shape());
  const int64_t n = y.numel();
  const float *pa = a.data().data(), *pb = b.data().data();
  float* py = y.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float v = pa[i] + pb[i];
    py[i] = v > 0.0f ? v : 0.0f;
  }
  return Variable::make(y, {a, b}, [y, n](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g = Tensor::empty(gy.shape());
    const float *pyo = y.data(), *pgy = gy.data();
    float* pg = g.data();
#pragma omp parallel for simd schedule(static) if (n >= kParallelElements)
    for (int64_t i = 0; i < n; ++i)
      pg[i] = relu_mask(pyo[i], pgy[i]);
    // Both inputs get the same gradient: the first a copy, the second the tensor itself.
    if (in[0].requires_grad()) in[0].add_grad(in[1].requires_grad() ? g.clone() : g);
    if (in[1].requires_grad()) in[1].add_grad(std::move(g));
  });
}

}  // namespace prism

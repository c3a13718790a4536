#include "ops/arithmetic.hpp"

namespace prism {

namespace {
void check_same_shape(const char* op, const Variable& a, const Variable& b) {
  PRISM_CHECK(a.defined() && b.defined(), op << ": undefined operand");
  PRISM_CHECK(a.shape() == b.shape(),
              op << ": shapes differ, " << to_string(a.shape()) << " and " << to_string(b.shape()));
}
}  // namespace

Variable add(const Variable& a, const Variable& b) {
  check_same_shape("add", a, b);
  Tensor y(a.shape());
  const float *pa = a.data().data(), *pb = b.data().data();
  for (int64_t i = 0; i < y.numel(); ++i)
    y[i] = pa[i] + pb[i];
  return Variable::make(y, {a, b}, [](std::vector<Variable>& in, const Tensor& gy) {
    for (Variable& v : in)
      if (v.requires_grad()) v.add_grad(gy);
  });
}

Variable mul(const Variable& a, const Variable& b) {
  check_same_shape("mul", a, b);
  Tensor ta = a.data(), tb = b.data();
  Tensor y(a.shape());
  for (int64_t i = 0; i < y.numel(); ++i)
    y[i] = ta[i] * tb[i];
  return Variable::make(y, {a, b}, [ta, tb](std::vector<Variable>& in, const Tensor& gy) {
    // d(a*b)/da = b, d(a*b)/db = a
    for (int k = 0; k < 2; ++k) {
      if (!in[k].requires_grad()) continue;
      const Tensor& other = k == 0 ? tb : ta;
      Tensor g(gy.shape());
      for (int64_t i = 0; i < g.numel(); ++i)
        g[i] = gy[i] * other[i];
      in[k].add_grad(g);
    }
  });
}

Variable scale(const Variable& x, float s) {
  Tensor y(x.shape());
  for (int64_t i = 0; i < y.numel(); ++i)
    y[i] = s * x.data()[i];
  return Variable::make(y, {x}, [s](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g(gy.shape());
    for (int64_t i = 0; i < g.numel(); ++i)
      g[i] = s * gy[i];
    in[0].add_grad(g);
  });
}

Variable sum(const Variable& x) {
  double acc = 0;  // double: long sums stay accurate
  for (int64_t i = 0; i < x.data().numel(); ++i)
    acc += x.data()[i];
  Shape shape = x.shape();
  return Variable::make(Tensor::scalar(static_cast<float>(acc)), {x},
                        [shape](std::vector<Variable>& in, const Tensor& gy) {
                          in[0].add_grad(Tensor::full(shape, gy.item()));
                        });
}

Variable mean(const Variable& x) {
  PRISM_CHECK(x.data().numel() > 0, "mean: empty tensor " << to_string(x.shape()));
  return scale(sum(x), 1.0f / static_cast<float>(x.data().numel()));
}

}  // namespace prism

#include "ops/arithmetic.hpp"

#include "core/profiler.hpp"

#include <algorithm>

namespace prism {

namespace {

// How two shapes broadcast: the output's shape, and for each input the step it takes along
// each output dimension (0 where it is broadcast).
struct Broadcast {
  Shape out;
  std::vector<int64_t> step_a, step_b;
  bool same = false;  // a, b and out have one shape: plain elementwise loops
};

// Row-major steps of `shape` along each dimension of `out` (aligned at the last dimension).
std::vector<int64_t> steps(const Shape& shape, const Shape& out) {
  std::vector<int64_t> step(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const size_t d = shape.size() - 1 - i, o = out.size() - 1 - i;
    if (shape[d] != 1) step[o] = stride;
    stride *= shape[d];
  }
  return step;
}

Broadcast broadcast(const char* op, const Variable& a, const Variable& b) {
  PRISM_CHECK(a.defined() && b.defined(), op << ": undefined operand");
  const Shape &sa = a.shape(), &sb = b.shape();
  Broadcast bc;
  bc.same = sa == sb;
  bc.out.assign(std::max(sa.size(), sb.size()), 1);
  for (size_t i = 0; i < bc.out.size(); ++i) {
    const int64_t da = i < sa.size() ? sa[sa.size() - 1 - i] : 1;
    const int64_t db = i < sb.size() ? sb[sb.size() - 1 - i] : 1;
    PRISM_CHECK(da == db || da == 1 || db == 1,
                op << ": shapes " << to_string(sa) << " and " << to_string(sb)
                   << " do not broadcast (dimension " << i << " from the end: " << da << " and "
                   << db << ")");
    bc.out[bc.out.size() - 1 - i] = da == 1 ? db : da;
  }
  bc.step_a = steps(sa, bc.out);
  bc.step_b = steps(sb, bc.out);
  return bc;
}

// f(i, ia, ib) for every output element i in order, with the elements of a and b it reads.
template <class F>
void for_each_element(const Broadcast& bc, F&& f) {
  const int64_t n = numel_of(bc.out), rank = static_cast<int64_t>(bc.out.size());
  if (bc.same) {
    for (int64_t i = 0; i < n; ++i)
      f(i, i, i);
    return;
  }
  std::vector<int64_t> index(bc.out.size(), 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, ia, ib);
    for (int64_t d = rank - 1; d >= 0; --d) {  // the next index, last dimension fastest
      ia += bc.step_a[d], ib += bc.step_b[d];
      if (++index[d] < bc.out[d]) break;
      ia -= bc.step_a[d] * bc.out[d], ib -= bc.step_b[d] * bc.out[d];
      index[d] = 0;
    }
  }
}

}  // namespace

Variable add(const Variable& a, const Variable& b) {
  profile::Scope scope("add");
  const Broadcast bc = broadcast("add", a, b);
  Tensor y(bc.out);
  const float *pa = a.data().data(), *pb = b.data().data();
  for_each_element(bc, [&](int64_t i, int64_t ia, int64_t ib) { y[i] = pa[ia] + pb[ib]; });
  const Shape sa = a.shape(), sb = b.shape();
  return Variable::make(y, {a, b}, [bc, sa, sb](std::vector<Variable>& in, const Tensor& gy) {
    for (int k = 0; k < 2; ++k) {
      if (!in[k].requires_grad()) continue;
      if (bc.same) {
        in[k].add_grad(gy);
        continue;
      }
      Tensor g(k == 0 ? sa : sb);  // gy summed over the broadcast dimensions, in order
      for_each_element(bc,
                       [&](int64_t i, int64_t ia, int64_t ib) { g[k == 0 ? ia : ib] += gy[i]; });
      in[k].add_grad(std::move(g));
    }
  });
}

Variable mul(const Variable& a, const Variable& b) {
  profile::Scope scope("mul");
  const Broadcast bc = broadcast("mul", a, b);
  Tensor ta = a.data(), tb = b.data();
  Tensor y(bc.out);
  for_each_element(bc, [&](int64_t i, int64_t ia, int64_t ib) { y[i] = ta[ia] * tb[ib]; });
  return Variable::make(y, {a, b}, [bc, ta, tb](std::vector<Variable>& in, const Tensor& gy) {
    // d(a*b)/da = b, d(a*b)/db = a, each summed over what its input was broadcast along
    if (in[0].requires_grad()) {
      Tensor g(ta.shape());
      for_each_element(bc, [&](int64_t i, int64_t ia, int64_t ib) { g[ia] += gy[i] * tb[ib]; });
      in[0].add_grad(std::move(g));
    }
    if (in[1].requires_grad()) {
      Tensor g(tb.shape());
      for_each_element(bc, [&](int64_t i, int64_t ia, int64_t ib) { g[ib] += gy[i] * ta[ia]; });
      in[1].add_grad(std::move(g));
    }
  });
}

Variable scale(const Variable& x, float s) {
  profile::Scope scope("scale");
  const Tensor tx = x.data();
  Tensor y(x.shape());
  for (int64_t i = 0; i < y.numel(); ++i)
    y[i] = s * tx[i];
  return Variable::make(y, {x}, [s](std::vector<Variable>& in, const Tensor& gy) {
    Tensor g(gy.shape());
    for (int64_t i = 0; i < g.numel(); ++i)
      g[i] = s * gy[i];
    in[0].add_grad(std::move(g));
  });
}

Variable sum(const Variable& x) {
  profile::Scope scope("sum");
  check_unsharded(x, "sum");
  const Tensor tx = x.data();
  double acc = 0;  // double: long sums stay accurate
  for (int64_t i = 0; i < tx.numel(); ++i)
    acc += tx[i];
  Shape shape = x.shape();
  return Variable::make(Tensor::scalar(static_cast<float>(acc)), {x},
                        [shape](std::vector<Variable>& in, const Tensor& gy) {
                          in[0].add_grad(Tensor::full(shape, gy.item()));
                        });
}

Variable mean(const Variable& x) {
  profile::Scope scope("mean");
  check_unsharded(x, "mean");
  const int64_t n = x.data().numel();
  PRISM_CHECK(n > 0, "mean: empty tensor " << to_string(x.shape()));
  return scale(sum(x), 1.0f / static_cast<float>(n));
}

}  // namespace prism

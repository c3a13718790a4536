// Finite-difference gradient checks shared by the op tests.
//
// check_gradients(f, inputs) builds y = f(inputs), seeds backward with a random projection R,
// and compares every input's analytic gradient with the central difference of
// L(x) = sum(R * f(x)), computed in double. Floats limit the precision, so the comparison is
// |analytic - numeric| <= atol + rtol * |numeric|.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "prism.hpp"

namespace prism::testing {

inline Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  rng.fill_uniform(t, lo, hi);
  return t;
}

struct GradCheckOptions {
  double eps = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-2;
  uint64_t seed = 1234;
};

inline double projected(const Tensor& y, const Tensor& r) {
  double acc = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    acc += static_cast<double>(y[i]) * r[i];
  return acc;
}

// Fails a CHECK for every gradient element outside the tolerance.
inline void check_gradients(const std::function<Variable(const std::vector<Variable>&)>& f,
                            const std::vector<Tensor>& inputs, GradCheckOptions opt = {}) {
  std::vector<Variable> vars;
  for (const Tensor& t : inputs)
    vars.emplace_back(t.clone(), true);
  Variable y = f(vars);
  Rng rng(opt.seed);
  Tensor r = random_tensor(y.shape(), rng);
  y.backward(r);

  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = vars[k].data();
    REQUIRE_MESSAGE(vars[k].has_grad(), "input " << k << " received no gradient");
    const Tensor& g = vars[k].grad();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float saved = x[i];
      std::vector<Variable> probe;
      for (const Variable& v : vars)
        probe.emplace_back(v.data(), false);
      x[i] = saved + static_cast<float>(opt.eps);
      double plus = projected(f(probe).data(), r);
      x[i] = saved - static_cast<float>(opt.eps);
      double minus = projected(f(probe).data(), r);
      x[i] = saved;
      double numeric = (plus - minus) / (2 * opt.eps);
      double analytic = g[i];
      INFO("input " << k << " element " << i << " of shape " << to_string(x.shape()));
      CHECK(std::abs(analytic - numeric) <= opt.atol + opt.rtol * std::abs(numeric));
    }
  }
}

// A separable two-class problem: n points in 2-D, class i % 2 centred at (-+offset, 0).
struct Blobs {
  Tensor x;
  Labels t;
};
inline Blobs two_blobs(int64_t n, float offset, Rng& rng) {
  Blobs b{Tensor({n, 2}), Labels(static_cast<size_t>(n))};
  for (int64_t i = 0; i < n; ++i) {
    b.t[i] = static_cast<int32_t>(i % 2);
    b.x[2 * i] = rng.normal() * 0.3f + (b.t[i] ? offset : -offset);
    b.x[2 * i + 1] = rng.normal() * 0.3f;
  }
  return b;
}

// Largest |a - b| / max(1, |b|) over all elements.
inline double max_rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - b[i]) / std::max(1.0, std::abs(double(b[i]))));
  return worst;
}

// Indices [first, first + count) along `axis` of t, as a new tensor.
inline Tensor slice_axis(const Tensor& t, int64_t axis, int64_t first, int64_t count) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= t.size(d);
  for (int64_t d = axis + 1; d < t.dim(); ++d)
    inner *= t.size(d);
  Shape shape = t.shape();
  shape[static_cast<size_t>(axis)] = count;
  Tensor out(shape);
  for (int64_t o = 0; o < outer; ++o)
    std::copy_n(t.data() + (o * t.size(axis) + first) * inner, count * inner,
                out.data() + o * count * inner);
  return out;
}

// |a - b| / max(|b|, 1) in the 2-norm (relative, or absolute for a small tensor, as
// max_rel_diff is per element): rounding spread over a tensor, which a few elements' larger
// relative error cannot dominate.
inline double rel_l2_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / std::max(norm, 1.0));
}

}  // namespace prism::testing

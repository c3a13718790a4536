// Helpers for tests that run kernels under each ISA this machine supports.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/isa.hpp"
#include "core/tensor.hpp"

namespace prism::testing {

// Sets the ISA for a scope and restores the previous one.
struct IsaScope {
  explicit IsaScope(Isa isa) : saved(active_isa()) { set_active_isa(isa); }
  ~IsaScope() { set_active_isa(saved); }
  Isa saved;
};

inline std::vector<Isa> fast_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::avx2, Isa::avx512})
    if (isa <= detected_isa()) out.push_back(isa);
  return out;
}

// max |a - b| over max |b|: the error relative to the result's scale.
inline double rel_error(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

}  // namespace prism::testing

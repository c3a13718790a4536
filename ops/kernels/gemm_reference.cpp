#include "ops/kernels/gemm_reference.hpp"

#include <algorithm>
#include <vector>

namespace prism::kernels {

void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                    const float* b, float* c, bool accumulate) {
  // B is made row-major [K, N] first, so the inner loop runs along contiguous rows of B and C.
  std::vector<float> bt;
  if (trans_b) {
    bt.resize(k * n);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        bt[p * n + j] = b[j * k + p];
    b = bt.data();
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * n;
    if (!accumulate) std::fill(ci, ci + n, 0.0f);
    for (int64_t p = 0; p < k; ++p) {
      const float aip = trans_a ? a[p * m + i] : a[i * k + p];
      const float* bp = b + p * n;
      for (int64_t j = 0; j < n; ++j)
        ci[j] += aip * bp[j];
    }
  }
}

}  // namespace prism::kernels

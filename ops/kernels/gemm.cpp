#include "ops/kernels/gemm.hpp"

#include <algorithm>

#include "core/isa.hpp"
#include "ops/kernels/gemm_isa.hpp"
#include "ops/kernels/gemm_reference.hpp"
#include "ops/kernels/scratch.hpp"

namespace prism::kernels {

namespace {

// The blocking plan: the ISA's mr x nr register tile; kc steps of K and nc columns of B per
// packed block (kc x nc floats, 512 KiB, stays in L2); all of A's rows per block of K. It
// sizes the scratch too: A's panels for one block of K, and one block of B's.
struct GemmPlan {
  const GemmIsa& isa;
  int64_t m_panels;  // ceil(m / mr)
  int64_t kc = 256, nc = 512;

  GemmPlan(const GemmIsa& isa_, int64_t m) : isa(isa_), m_panels((m + isa.mr - 1) / isa.mr) {}
  int64_t a_floats() const { return m_panels * isa.mr * kc; }
  int64_t b_floats() const { return (nc + isa.nr) * kc; }
};

// Rows [0, count) of a matrix, at(i, p) for p in [0, kc), as panels [count / width][kc][width],
// zero past count: op(A) by rows of mr, op(B) by columns of nr.
template <class At>
void pack_panels(int64_t count, int64_t width, int64_t kc, At at, float* out) {
  const int64_t panels = (count + width - 1) / width;
#pragma omp parallel for schedule(static)
  for (int64_t ip = 0; ip < panels; ++ip) {
    float* dst = out + ip * kc * width;
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t r = 0; r < width; ++r) {
        const int64_t i = ip * width + r;
        *dst++ = i < count ? at(i, p) : 0.0f;
      }
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
          const float* b, float* c, bool accumulate) {
  const Isa isa = active_isa();
  if (isa == Isa::scalar || m == 0 || n == 0)
    return gemm_reference(trans_a, trans_b, m, n, k, a, b, c, accumulate);
  if (k == 0) {  // an empty sum
    if (!accumulate) std::fill(c, c + m * n, 0.0f);
    return;
  }
  const GemmPlan g(isa == Isa::avx512 ? gemm_avx512() : gemm_avx2(), m);
  const int64_t mr = g.isa.mr, nr = g.isa.nr, m_panels = g.m_panels;
  Scratch ap(g.a_floats()), bp(g.b_floats());
  for (int64_t j0 = 0; j0 < n; j0 += g.nc) {
    const int64_t nc = std::min(g.nc, n - j0), n_panels = (nc + nr - 1) / nr;
    for (int64_t p0 = 0; p0 < k; p0 += g.kc) {
      const int64_t kc = std::min(g.kc, k - p0);
      pack_panels(
          m, mr, kc,
          [&](int64_t i, int64_t p) { return trans_a ? a[(p0 + p) * m + i] : a[i * k + p0 + p]; },
          ap.get());
      pack_panels(
          nc, nr, kc,
          [&](int64_t j, int64_t p) {
            return trans_b ? b[(j0 + j) * k + p0 + p] : b[(p0 + p) * n + j0 + j];
          },
          bp.get());
      const bool add = accumulate || p0 > 0;
      // Tiles of this block, B panel by B panel; each tile of C belongs to one thread.
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < n_panels * m_panels; ++t) {
        const int64_t jp = t / m_panels, ip = t % m_panels;
        const int64_t i = ip * mr, j = jp * nr;
        g.isa.tile(kc, ap.get() + ip * kc * mr, bp.get() + jp * kc * nr, c + i * n + j0 + j, n,
                   std::min(mr, m - i), std::min(nr, nc - j), add);
      }
    }
  }
}

}  // namespace prism::kernels

#include "ops/kernels/gemm.hpp"

#include <algorithm>

#include "core/isa.hpp"
#include "ops/kernels/gemm_reference.hpp"
#include "ops/kernels/scratch.hpp"

namespace prism::kernels {

namespace {

// The blocking plan: an MR x NR register tile; kc steps of K and nc columns of B per packed
// block (kc x nc floats, 512 KiB, stays in L2); all of A's rows per block of K.
struct GemmPlan {
  int64_t mr, nr, kc = 256, nc = 512;
  void (*tile)(int64_t, const float*, const float*, float*, int64_t, int64_t, int64_t, bool);
};

GemmPlan plan_for(Isa isa) {
  if (isa == Isa::avx512) return {12, 32, 256, 512, gemm_tile_avx512};
  return {6, 16, 256, 512, gemm_tile_avx2};
}

// Element (i, p) of op(A) or (p, j) of op(B).
float at_a(const float* a, bool trans, int64_t m, int64_t k, int64_t i, int64_t p) {
  return trans ? a[p * m + i] : a[i * k + p];
}

// A's rows [0, m) times K's [p0, p0 + kc) as panels [m / mr][kc][mr], zero past m.
void pack_a(const GemmPlan& g, bool trans, int64_t m, int64_t k, const float* a, int64_t p0,
            int64_t kc, float* out) {
  const int64_t panels = (m + g.mr - 1) / g.mr;
#pragma omp parallel for schedule(static)
  for (int64_t ip = 0; ip < panels; ++ip) {
    float* dst = out + ip * kc * g.mr;
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t r = 0; r < g.mr; ++r) {
        const int64_t i = ip * g.mr + r;
        *dst++ = i < m ? at_a(a, trans, m, k, i, p0 + p) : 0.0f;
      }
  }
}

// B's rows [p0, p0 + kc) times columns [j0, j0 + nc) as panels [nc / nr][kc][nr], zero past n.
void pack_b(const GemmPlan& g, bool trans, int64_t n, int64_t k, const float* b, int64_t p0,
            int64_t kc, int64_t j0, int64_t nc, float* out) {
  const int64_t panels = (nc + g.nr - 1) / g.nr;
#pragma omp parallel for schedule(static)
  for (int64_t jp = 0; jp < panels; ++jp) {
    float* dst = out + jp * kc * g.nr;
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t r = 0; r < g.nr; ++r) {
        const int64_t j = jp * g.nr + r;
        *dst++ = j < nc ? (trans ? b[(j0 + j) * k + p0 + p] : b[(p0 + p) * n + j0 + j]) : 0.0f;
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
  const GemmPlan g = plan_for(isa);
  const int64_t m_panels = (m + g.mr - 1) / g.mr;
  Scratch ap(m_panels * g.mr * g.kc), bp((g.nc + g.nr) * g.kc);
  for (int64_t j0 = 0; j0 < n; j0 += g.nc) {
    const int64_t nc = std::min(g.nc, n - j0), n_panels = (nc + g.nr - 1) / g.nr;
    for (int64_t p0 = 0; p0 < k; p0 += g.kc) {
      const int64_t kc = std::min(g.kc, k - p0);
      pack_a(g, trans_a, m, k, a, p0, kc, ap.get());
      pack_b(g, trans_b, n, k, b, p0, kc, j0, nc, bp.get());
      const bool add = accumulate || p0 > 0;
      // Tiles of this block, B panel by B panel; each tile of C belongs to one thread.
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < n_panels * m_panels; ++t) {
        const int64_t jp = t / m_panels, ip = t % m_panels;
        const int64_t i = ip * g.mr, j = jp * g.nr;
        g.tile(kc, ap.get() + ip * kc * g.mr, bp.get() + jp * kc * g.nr, c + i * n + j0 + j, n,
               std::min(g.mr, m - i), std::min(g.nr, nc - j), add);
      }
    }
  }
}

}  // namespace prism::kernels

#include "ops/dropout.hpp"

#include <algorithm>

#include "core/allocator.hpp"
#include "core/parallel.hpp"

namespace prism {

Variable dropout(const Variable& x, float ratio, bool train, Rng& rng) {
  PRISM_CHECK(x.defined(), "dropout: undefined input");
  // Written so that NaN fails too.
  PRISM_CHECK(ratio >= 0.0f && ratio < 1.0f, "dropout: ratio must be in [0, 1), got " << ratio);
  if (!train || ratio == 0.0f) return x;
  const uint64_t key = rng.next_u64();
  // Element i is kept when the top 32 bits of its hash reach ratio * 2^32 (exact for a float
  // ratio below 1, so the threshold stays below 2^32).
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(ratio) * 4294967296.0);
  const float scale = 1.0f / (1.0f - ratio);
  const int64_t n = x.data().numel(), words = (n + 63) / 64;
  // The mask is one bit per element (bit i % 64 of word i / 64), all backward needs.
  std::shared_ptr<uint64_t> mask = memory::allocate_array<uint64_t>(words);
  const float* px = x.data().data();
  Tensor y = Tensor::empty(x.shape());
  float* py = y.data();
  uint64_t* pm = mask.get();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
  for (int64_t w = 0; w < words; ++w) {
    const int64_t lo = w * 64, count = std::min<int64_t>(64, n - lo);
    uint64_t bits = 0;
    for (int64_t b = 0; b < count; ++b) {
      const bool keep = (counter_hash(key, static_cast<uint64_t>(lo + b)) >> 32) >= threshold;
      bits |= static_cast<uint64_t>(keep) << b;
      py[lo + b] = keep ? px[lo + b] * scale : 0.0f;
    }
    pm[w] = bits;
  }
  return Variable::make(y, {x},
                        [mask, scale, n, words](std::vector<Variable>& in, const Tensor& gy) {
                          Tensor g = Tensor::empty(gy.shape());
                          const float* pgy = gy.data();
                          float* pg = g.data();
                          const uint64_t* pm = mask.get();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
                          for (int64_t w = 0; w < words; ++w) {
                            const int64_t lo = w * 64, count = std::min<int64_t>(64, n - lo);
                            const uint64_t bits = pm[w];
                            for (int64_t b = 0; b < count; ++b)
                              pg[lo + b] = (bits >> b) & 1 ? pgy[lo + b] * scale : 0.0f;
                          }
                          in[0].add_grad(std::move(g));
                        });
}

}  // namespace prism

#include "ops/dropout.hpp"

#include <algorithm>

#include "core/allocator.hpp"
#include "core/parallel.hpp"
#include "core/profiler.hpp"

namespace prism {

namespace {

// The keep bits of elements [64 * word, 64 * word + 64): element i takes the high (even i) or
// the low (odd i) 32 bits of counter_hash(key, i / 2), and is kept when they reach `threshold`.
uint64_t keep_bits(uint64_t key, int64_t word, uint64_t threshold) {
  uint64_t bits = 0;
  for (int pair = 0; pair < 32; ++pair) {
    const uint64_t h = counter_hash(key, static_cast<uint64_t>(word * 32 + pair));
    bits |= static_cast<uint64_t>((h >> 32) >= threshold) << (2 * pair);
    bits |= static_cast<uint64_t>((h & 0xffffffffULL) >= threshold) << (2 * pair + 1);
  }
  return bits;
}

// Byte b of a mask as 8 floats, 1 where its bit is set: a multiply then applies 8 bits at once,
// which vectorizes where a per-bit shift would not.
struct ByteMasks {
  float lanes[256][8];
  constexpr ByteMasks() : lanes() {
    for (int byte = 0; byte < 256; ++byte)
      for (int j = 0; j < 8; ++j)
        lanes[byte][j] = (byte >> j) & 1 ? 1.0f : 0.0f;
  }
};
constexpr ByteMasks kByteMasks;

// dst[b] = src[b] * scale where bit b is set, 0 elsewhere: forward on x, backward on gy.
void apply_mask(uint64_t bits, const float* src, float* dst, int64_t count, float scale) {
  int64_t b = 0;
  for (; b + 8 <= count; b += 8) {
    const float* m = kByteMasks.lanes[(bits >> b) & 0xff];
    for (int j = 0; j < 8; ++j)
      dst[b + j] = src[b + j] * scale * m[j];
  }
  for (; b < count; ++b)  // the same product as above, so NaN and inf behave alike
    dst[b] = src[b] * scale * ((bits >> b) & 1 ? 1.0f : 0.0f);
}

}  // namespace

Variable dropout(const Variable& x, float ratio, bool train, Rng& rng) {
  profile::Scope scope("dropout");
  PRISM_CHECK(x.defined(), "dropout: undefined input");
  // Written so that NaN fails too.
  PRISM_CHECK(ratio >= 0.0f && ratio < 1.0f, "dropout: ratio must be in [0, 1), got " << ratio);
  if (!train || ratio == 0.0f) return x;
  const uint64_t key = rng.next_u64();
  // ratio * 2^32 is exact for a float ratio, and below 2^32 for a ratio below 1.
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
    pm[w] = keep_bits(key, w, threshold);
    apply_mask(pm[w], px + w * 64, py + w * 64, std::min<int64_t>(64, n - w * 64), scale);
  }
  return Variable::make(
      y, {x}, [mask, scale, n, words](std::vector<Variable>& in, const Tensor& gy) {
        Tensor g = Tensor::empty(gy.shape());
        const float* pgy = gy.data();
        float* pg = g.data();
        const uint64_t* pm = mask.get();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
        for (int64_t w = 0; w < words; ++w)
          apply_mask(pm[w], pgy + w * 64, pg + w * 64, std::min<int64_t>(64, n - w * 64), scale);
        in[0].add_grad(std::move(g));
      });
}

}  // namespace prism

#include "ops/dropout.hpp"

#include <algorithm>

#include "core/allocator.hpp"
#include "core/parallel.hpp"
#include "core/profiler.hpp"

namespace prism {

namespace {

// Element i of the full tensor takes the high (even i) or the low (odd i) 32 bits of
// counter_hash(key, i / 2), and is kept when they reach `threshold`.
//
// The keep bits of full elements [2 * pair, 2 * pair + 2 * pairs): one hash for two elements.
inline uint64_t pair_bits(uint64_t key, uint64_t pair, int pairs, uint64_t threshold) {
  uint64_t bits = 0;
  for (int k = 0; k < pairs; ++k) {
    const uint64_t h = counter_hash(key, pair + static_cast<uint64_t>(k));
    bits |= static_cast<uint64_t>((h >> 32) >= threshold) << (2 * k);
    bits |= static_cast<uint64_t>((h & 0xffffffffULL) >= threshold) << (2 * k + 1);
  }
  return bits;
}

// The keep bits of full elements [first, first + count), count <= 64, which may start or end
// inside a pair.
uint64_t run_bits(uint64_t key, uint64_t first, int64_t count, uint64_t threshold) {
  uint64_t bits = 0;
  int64_t j = 0;
  if (first & 1) {  // an odd start takes the low half of its pair
    bits = static_cast<uint64_t>((counter_hash(key, first >> 1) & 0xffffffffULL) >= threshold);
    j = 1;
  }
  const int pairs = static_cast<int>((count - j + 1) / 2);  // at most 32; an odd end draws one more
  bits |= pair_bits(key, (first + static_cast<uint64_t>(j)) >> 1, pairs, threshold) << j;
  return count == 64 ? bits : bits & ((uint64_t{1} << count) - 1);
}

// Where a channel-sharded tensor's elements lie in the full tensor: local channel c of image
// n is full channel shard.full_channel(c), each a plane of `plane` elements.
struct FullIndex {
  ChannelShard shard;
  int64_t plane;
  int64_t operator()(int64_t i) const {
    const int64_t p = i / plane, n = p / shard.count(), c = p % shard.count();
    return (n * shard.channels + shard.full_channel(c)) * plane + i % plane;
  }
};

// The keep bits of local elements [64 * word, 64 * word + count): one run of full indices
// per plane they meet (the whole word when the tensor is not sharded).
uint64_t keep_bits(uint64_t key, const FullIndex& full, int64_t word, int64_t count,
                   uint64_t threshold) {
  const int64_t first = word * 64;
  if (!full.shard.sharded())  // a whole word is 32 pairs, a loop the compiler unrolls
    return count == 64 ? pair_bits(key, static_cast<uint64_t>(word) * 32, 32, threshold)
                       : run_bits(key, static_cast<uint64_t>(first), count, threshold);
  uint64_t bits = 0;
  for (int64_t j = 0; j < count;) {
    const int64_t run = std::min(count - j, full.plane - (first + j) % full.plane);
    bits |= run_bits(key, static_cast<uint64_t>(full(first + j)), run, threshold) << j;
    j += run;
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
  // A sharded x draws what the full tensor draws at its elements (see ops/dropout.hpp).
  const ChannelShard& shard = x.shard();
  const FullIndex full{shard, shard.sharded() && n > 0 ? n / (x.shape()[0] * shard.count()) : n};
  // The mask is one bit per element (bit i % 64 of word i / 64), all backward needs.
  std::shared_ptr<uint64_t> mask = memory::allocate_array<uint64_t>(words);
  const float* px = x.data().data();
  Tensor y = Tensor::empty(x.shape());
  float* py = y.data();
  uint64_t* pm = mask.get();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
  for (int64_t w = 0; w < words; ++w) {
    const int64_t count = std::min<int64_t>(64, n - w * 64);
    pm[w] = keep_bits(key, full, w, count, threshold);
    apply_mask(pm[w], px + w * 64, py + w * 64, count, scale);
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

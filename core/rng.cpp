#include "core/rng.hpp"

#include <cmath>
#include <numeric>

namespace prism {

namespace {
uint64_t splitmix64(uint64_t& x) {
  const uint64_t z = counter_hash(x, 0);
  x += kSplitMixGamma;
  return z;
}
uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& word : s_)
    word = splitmix64(seed);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// 24 random bits: every value is exactly representable and below 1.
float Rng::uniform() {
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

float Rng::uniform(float lo, float hi) {
  return lo + (hi - lo) * uniform();
}

float Rng::normal() {
  // Box-Muller on (0, 1] x [0, 1): log never sees 0.
  double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53;
  double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

uint64_t Rng::below(uint64_t n) {
  PRISM_CHECK(n > 0, "Rng::below: n must be positive");
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = next_u64();
  while (x >= limit);
  return x % n;
}

void Rng::fill_uniform(const Tensor& t, float lo, float hi) {
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = uniform(lo, hi);
}

void Rng::fill_normal(const Tensor& t, float mean, float stddev) {
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = mean + stddev * normal();
}

std::vector<int64_t> random_permutation(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

Rng& global_rng() {
  static Rng rng(0);
  return rng;
}

void manual_seed(uint64_t seed) {
  global_rng() = Rng(seed);
}

}  // namespace prism

// Seedable random numbers: xoshiro256** seeded through splitmix64. The same seed gives the
// same stream on every machine and rank, so a seeded run is bitwise reproducible.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace prism {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);

  uint64_t next_u64();
  float uniform();                    // [0, 1)
  float uniform(float lo, float hi);  // [lo, hi)
  float normal();                     // mean 0, std 1 (Box-Muller)
  uint64_t below(uint64_t n);         // uniform in [0, n), n > 0, unbiased

  void fill_uniform(const Tensor& t, float lo, float hi);
  void fill_normal(const Tensor& t, float mean, float stddev);

  // The whole generator state, for snapshots that resume exactly.
  using State = std::array<uint64_t, 4>;
  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_;
};

// A counter-based draw: output i of the SplitMix64 stream that starts at `key`, computed without
// the outputs before it. Masks drawn with it are the same in any order and on any thread count,
// and any slice of a tensor can be drawn alone.
inline constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;
inline uint64_t counter_hash(uint64_t key, uint64_t i) {
  uint64_t z = key + (i + 1) * kSplitMixGamma;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 0, 1, ..., n-1 in a uniformly random order (Fisher-Yates, as Chainer's shuffled orders): the
// same generator state gives the same permutation everywhere.
std::vector<int64_t> random_permutation(int64_t n, Rng& rng);

// The process-wide generator that layers draw their initial weights and dropout masks from,
// unless given another. manual_seed makes a whole run reproducible.
Rng& global_rng();
void manual_seed(uint64_t seed);

}  // namespace prism

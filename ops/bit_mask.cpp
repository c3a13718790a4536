#include "ops/bit_mask.hpp"

#include <array>
#include <cstring>

namespace prism {

namespace {

// Eight flags read as one little-endian word: flag j is bit 8j. Multiplying by kGather moves
// bit 8j to bit 56 + j (the other products land below bit 56 without carrying into it, or
// above bit 63), so the top byte is the packed flags.
constexpr uint64_t kGather = 0x0102040810204080ULL;

// The word of eight flags for each byte of bits.
constexpr std::array<uint64_t, 256> kSpread = [] {
  std::array<uint64_t, 256> spread{};
  for (int byte = 0; byte < 256; ++byte)
    for (int j = 0; j < 8; ++j)
      spread[byte] |= static_cast<uint64_t>((byte >> j) & 1) << (8 * j);
  return spread;
}();

}  // namespace

void pack_flags(const uint8_t* flags, int64_t n, uint8_t* bits) {
  int64_t k = 0;
  for (; 8 * k + 8 <= n; ++k) {
    uint64_t word;
    std::memcpy(&word, flags + 8 * k, 8);
    bits[k] = static_cast<uint8_t>((word * kGather) >> 56);
  }
  if (8 * k < n) {
    uint8_t last = 0;
    for (int64_t j = 0; 8 * k + j < n; ++j)
      last |= static_cast<uint8_t>(flags[8 * k + j] << j);
    bits[k] = last;
  }
}

void unpack_flags(const uint8_t* bits, int64_t n, uint8_t* flags) {
  int64_t k = 0;
  for (; 8 * k + 8 <= n; ++k)
    std::memcpy(flags + 8 * k, &kSpread[bits[k]], 8);
  for (int64_t j = 0; 8 * k + j < n; ++j)
    flags[8 * k + j] = (bits[k] >> j) & 1;
}

}  // namespace prism

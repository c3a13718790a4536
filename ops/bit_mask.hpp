// Masks an op saves for its backward, one bit per value instead of a byte: flags (bytes of 0
// or 1) packed eight to a byte and back, bit j of byte k holding flag 8k + j. Internal: no
// installed header includes it.
#pragma once

#include <cstdint>

namespace prism {

// The bytes that hold n flags.
inline int64_t bit_mask_bytes(int64_t n) {
  return (n + 7) / 8;
}

// flags[0, n) into bits[0, bit_mask_bytes(n)); the bits past n in the last byte are 0.
void pack_flags(const uint8_t* flags, int64_t n, uint8_t* bits);
// bits back into flags[0, n).
void unpack_flags(const uint8_t* bits, int64_t n, uint8_t* flags);

}  // namespace prism

#include "core/isa.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "core/error.hpp"

namespace prism {

namespace {

uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::scalar;
  const bool osxsave = c & bit_OSXSAVE, avx = c & bit_AVX, fma = c & bit_FMA;
  if (!(osxsave && avx && fma)) return Isa::scalar;
  // The OS must save the registers: XMM and YMM (bits 1, 2), plus opmask and ZMM (5, 6, 7).
  const uint64_t xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return Isa::scalar;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::scalar;
  if (!(b & bit_AVX2)) return Isa::scalar;
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512DQ) && (b & bit_AVX512BW) &&
                      (b & bit_AVX512VL) && (xcr0 & 0xe0) == 0xe0;
  return avx512 ? Isa::avx512 : Isa::avx2;
}

Isa initial_active() {
  const Isa best = detected_isa();
  const char* env = std::getenv("PRISM_ISA");
  if (env == nullptr || *env == '\0') return best;
  const Isa wanted = parse_isa(env);
  PRISM_CHECK(wanted <= best,
              "PRISM_ISA=" << env << ": this machine supports at most " << isa_name(best));
  return wanted;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_active())};
  return slot;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "?";
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (name == isa_name(isa)) return isa;
  PRISM_FAIL("unknown ISA '" << name << "': expected scalar, avx2 or avx512");
}

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() {
  return static_cast<Isa>(active_slot().load(std::memory_order_relaxed));
}

void set_active_isa(Isa isa) {
  PRISM_CHECK(isa <= detected_isa(), "set_active_isa(" << isa_name(isa)
                                                       << "): this machine supports at most "
                                                       << isa_name(detected_isa()));
  active_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace prism

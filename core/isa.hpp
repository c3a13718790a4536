// Which SIMD instruction set the kernels may use, decided once per process at run time.
//
// The library is built for any x86-64; files with AVX2 or AVX-512 code carry their own ISA
// flags and are only called when the CPU (CPUID) and the operating system (XSAVE state in
// XCR0) both support them. PRISM_ISA=scalar|avx2|avx512 caps the choice (for tests,
// comparisons and odd machines); asking for more than the machine has is an error.
#pragma once

#include <string>

namespace prism {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };  // ordered: each implies the ones below

const char* isa_name(Isa isa);
Isa parse_isa(const std::string& name);  // throws prism::Error on an unknown name

Isa detected_isa();            // the best this CPU and OS support
Isa active_isa();              // what kernels use: detected, capped by PRISM_ISA or set_active_isa
void set_active_isa(Isa isa);  // for tests and benchmarks; must not exceed detected_isa()

}  // namespace prism

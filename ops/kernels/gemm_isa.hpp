// The contract between the GEMM driver (gemm.cpp) and an ISA file (gemm_avx512.cpp,
// gemm_avx2.cpp), as for the convolution (conv2d_isa.hpp): each ISA file exports its register
// tile's size beside the microkernel that computes it. Use one only when active_isa() allows.
#pragma once

#include <cstdint>

namespace prism::kernels {

struct GemmIsa {
  const char* name;
  int64_t mr, nr;  // the register tile: mr rows x nr columns of C
  // c[rows, cols] (+)= a[kc][mr] * b[kc][nr] for rows <= mr, cols <= nr; a and b packed
  // panels (zero past the matrix's edge), c row-major with leading dimension ldc.
  void (*tile)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
               int64_t cols, bool add);
};

const GemmIsa& gemm_avx512();
const GemmIsa& gemm_avx2();

}  // namespace prism::kernels

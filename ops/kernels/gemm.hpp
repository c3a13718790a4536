// The GEMM the ops call (Linear, matmul): packed panels and a register-tiled microkernel for
// AVX-512 or AVX2 (gemm_isa.hpp), the reference kernel on scalar. Same contract as
// gemm_reference.
#pragma once

#include <cstdint>

namespace prism::kernels {

// C[M,N] (+)= op(A) * op(B), row-major; op(A) is A[M,K] or, when trans_a, A[K,M] read
// transposed; likewise B. When !accumulate, C is overwritten. Each element of C is summed by
// one thread in a fixed order: the result does not depend on the thread count.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
          const float* b, float* c, bool accumulate);

}  // namespace prism::kernels

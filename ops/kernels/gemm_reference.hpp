// Reference GEMM: plain loops, the oracle the fast kernels are tested against.
#pragma once

#include <cstdint>

namespace prism::kernels {

// C[M,N] (+)= op(A) * op(B), row-major. op(A) is A[M,K], or A[K,M] read transposed when
// trans_a; op(B) is B[K,N], or B[N,K] read transposed when trans_b. When !accumulate,
// C is overwritten.
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                    const float* b, float* c, bool accumulate);

}  // namespace prism::kernels

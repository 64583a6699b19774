/* fp64 reference GEMM: the oracle for tests and for the CLI's error figures,
 * never used to compute results.  C = A.B (+ bias), A m x k (lda), B k x n
 * (ldb), C m x n (ldc) in double; every product and sum in double.  With
 * round_inputs, A and B are first rounded to bf16 (what the kernels see).
 * Returns TW_OK or TW_ENOMEM. */
#ifndef TW_GEMM_REFERENCE_H
#define TW_GEMM_REFERENCE_H

#include <stddef.h>

int tw_reference_gemm_f64(size_t m, size_t k, size_t n, const float *a, size_t lda,
                          const float *b, size_t ldb, const float *bias, double *c, size_t ldc,
                          int round_inputs);

#endif

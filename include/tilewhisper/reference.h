/* fp64 reference GEMM: the oracle for tests and for the CLI's error figures
 * (exported so that tools built on the library check results the same way),
 * never used to compute results.  C = A.B (+ bias), A m x k (lda), B k x n
 * (ldb), C m x n (ldc) in double; every product and sum in double.  With
 * round_inputs, A and B are first rounded to bf16 (what the kernels see).
 * Returns TW_OK or TW_ENOMEM. */
#ifndef TILEWHISPER_REFERENCE_H
#define TILEWHISPER_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/export.h"

#ifdef __cplusplus
extern "C" {
#endif

TW_API int tw_reference_gemm_f64(size_t m, size_t k, size_t n, const float *a, size_t lda,
                                 const float *b, size_t ldb, const float *bias, double *c,
                                 size_t ldc, int round_inputs);

/* Reproducible test inputs: n values uniform in [-1, 1) from a 64-bit LCG
 * whose state is advanced in place (so consecutive calls continue it). */
TW_API void tw_reference_fill_uniform(float *x, size_t n, uint64_t *state);

/* ||x - ref||_F / ||ref||_F over m x n (leading dimensions ldx, ldr);
 * ||x - ref||_F when ref is all zero.  *max_abs (may be NULL) gets
 * max |x - ref|, NaN-aware.  The error figure every test and bench reports. */
TW_API double tw_reference_rel_error(const float *x, size_t ldx, const double *ref,
                                     size_t ldr, size_t m, size_t n, double *max_abs);

#ifdef __cplusplus
}
#endif
#endif

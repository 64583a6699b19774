/* Runs GEMM cases on devices and measures the error against the fp64
 * oracle on bf16-rounded and on unrounded inputs.  A case (data + both
 * references) can be built once and checked on several devices. */
#ifndef TW_TEST_GEMM_CASE_H
#define TW_TEST_GEMM_CASE_H

#include <stddef.h>

#include "tilewhisper/gemm.h"

typedef struct gemm_case_result {
  int status;
  double rel_err_bf16; /* vs fp64 reference on bf16-rounded inputs */
  double rel_err_fp32; /* vs fp64 reference on the unrounded inputs */
  double max_abs_err;  /* vs the bf16-rounded reference */
  tw_gemm_stats stats;
} gemm_case_result;

typedef struct gemm_case {
  size_t m, k, n;
  float *a, *w, *bias; /* bias NULL when the case has none */
  double *ref_rounded, *ref_exact;
} gemm_case;

/* Random A (M x K) and W (K x N) in [-1, 1], bias in [-1, 1] when with_bias. */
int gemm_case_make(gemm_case *gc, size_t m, size_t k, size_t n, int with_bias,
                   unsigned long seed);
gemm_case_result gemm_case_check(tw_stream *s, const gemm_case *gc,
                                 const tw_gemm_options *opts);
void gemm_case_free(gemm_case *gc);

/* make + check + free */
gemm_case_result gemm_case_run(tw_stream *s, size_t m, size_t k, size_t n, int with_bias,
                               unsigned long seed, const tw_gemm_options *opts);

#endif

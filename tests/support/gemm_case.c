#include "gemm_case.h"

#include <stdlib.h>
#include <string.h>

#include "tw_test.h"

int gemm_case_make(gemm_case *gc, size_t m, size_t k, size_t n, int with_bias,
                   unsigned long seed) {
  memset(gc, 0, sizeof *gc);
  gc->m = m;
  gc->k = k;
  gc->n = n;
  tw_rng rng = {seed};
  gc->a = malloc(sizeof(float) * m * k);
  gc->w = malloc(sizeof(float) * k * n);
  gc->bias = with_bias ? malloc(sizeof(float) * n) : NULL;
  gc->ref_rounded = malloc(sizeof(double) * m * n);
  gc->ref_exact = malloc(sizeof(double) * m * n);
  if (!gc->a || !gc->w || (with_bias && !gc->bias) || !gc->ref_rounded || !gc->ref_exact) {
    gemm_case_free(gc);
    return TW_ENOMEM;
  }
  tw_fill_uniform(&rng, gc->a, m * k, -1.0f, 1.0f);
  tw_fill_uniform(&rng, gc->w, k * n, -1.0f, 1.0f);
  if (gc->bias) tw_fill_uniform(&rng, gc->bias, n, -1.0f, 1.0f);
  if (tw_reference_gemm_f64(m, k, n, gc->a, k, gc->w, n, gc->bias, gc->ref_rounded, n, 1) ||
      tw_reference_gemm_f64(m, k, n, gc->a, k, gc->w, n, gc->bias, gc->ref_exact, n, 0)) {
    gemm_case_free(gc);
    return TW_ENOMEM;
  }
  return TW_OK;
}

gemm_case_result gemm_case_check(tw_stream *s, const gemm_case *gc,
                                 const tw_gemm_options *opts) {
  gemm_case_result r;
  memset(&r, 0, sizeof r);
  float *c = malloc(sizeof(float) * gc->m * gc->n);
  if (!c) {
    r.status = TW_ENOMEM;
    return r;
  }
  tw_weight_desc d = {.data = gc->w, .dtype = TW_DTYPE_F32, .k = gc->k, .n = gc->n,
                      .ld = gc->n, .bias = gc->bias, .name = "case"};
  tw_weight *wt = NULL;
  r.status = tw_weight_prepare(tw_stream_device(s), &d, &wt);
  if (!r.status)
    r.status = tw_gemm_ex(s, gc->m, gc->k, gc->a, TW_DTYPE_F32, gc->k, wt, c, gc->n, opts,
                          &r.stats);
  tw_weight_destroy(wt);
  if (!r.status) {
    r.rel_err_bf16 =
        tw_reference_rel_error(c, gc->n, gc->ref_rounded, gc->n, gc->m, gc->n, &r.max_abs_err);
    r.rel_err_fp32 = tw_reference_rel_error(c, gc->n, gc->ref_exact, gc->n, gc->m, gc->n, NULL);
  }
  free(c);
  return r;
}

void gemm_case_free(gemm_case *gc) {
  free(gc->a);
  free(gc->w);
  free(gc->bias);
  free(gc->ref_rounded);
  free(gc->ref_exact);
  memset(gc, 0, sizeof *gc);
}

gemm_case_result gemm_case_run(tw_stream *s, size_t m, size_t k, size_t n, int with_bias,
                               unsigned long seed, const tw_gemm_options *opts) {
  gemm_case gc;
  gemm_case_result r;
  memset(&r, 0, sizeof r);
  if ((r.status = gemm_case_make(&gc, m, k, n, with_bias, seed))) return r;
  r = gemm_case_check(s, &gc, opts);
  gemm_case_free(&gc);
  return r;
}

#include "gemm_case.h"

#include <stdlib.h>
#include <string.h>

#include "tw_test.h"

gemm_case_result gemm_case_run(tw_context *ctx, size_t m, size_t k, size_t n, int with_bias,
                               unsigned long seed, const tw_gemm_options *opts) {
  gemm_case_result r;
  memset(&r, 0, sizeof r);
  tw_rng rng = {seed};
  float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * k * n);
  float *bias = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * m * n);
  double *ref_r = malloc(sizeof(double) * m * n), *ref_u = malloc(sizeof(double) * m * n);
  if (!a || !w || !bias || !c || !ref_r || !ref_u) {
    r.status = TW_ENOMEM;
    goto out;
  }
  tw_fill_uniform(&rng, a, m * k, -1.0f, 1.0f);
  tw_fill_uniform(&rng, w, k * n, -1.0f, 1.0f);
  tw_fill_uniform(&rng, bias, n, -1.0f, 1.0f);
  tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n,
                      .bias = with_bias ? bias : NULL, .name = "case"};
  tw_weight *wt = NULL;
  r.status = tw_weight_prepare(ctx, &d, &wt);
  if (r.status) goto out;
  r.status = tw_gemm_ex(ctx, m, k, a, TW_DTYPE_F32, k, wt, c, n, opts, &r.stats);
  tw_weight_destroy(wt);
  if (r.status) goto out;
  const float *b = with_bias ? bias : NULL;
  tw_reference_gemm_f64(m, k, n, a, k, w, n, b, ref_r, n, 1);
  tw_reference_gemm_f64(m, k, n, a, k, w, n, b, ref_u, n, 0);
  r.rel_err_bf16 = tw_rel_frobenius(c, n, ref_r, n, m, n, &r.max_abs_err);
  r.rel_err_fp32 = tw_rel_frobenius(c, n, ref_u, n, m, n, NULL);
out:
  free(a);
  free(w);
  free(bias);
  free(c);
  free(ref_r);
  free(ref_u);
  return r;
}

#include "tilewhisper/reference.h"

#include <math.h>
#include <stdlib.h>

#include "tilewhisper/bf16.h"
#include "tilewhisper/status.h"
#include "core/mem.h"

int tw_reference_gemm_f64(size_t m, size_t k, size_t n, const float *a, size_t lda, const float *b,
                     size_t ldb, const float *bias, double *c, size_t ldc, int round_inputs) {
  double *bd = tw_malloc_aligned(sizeof(double) * k * n);
  double *row = tw_malloc_aligned(sizeof(double) * n);
  if (!bd || !row) {
    tw_free(bd);
    tw_free(row);
    return TW_ENOMEM;
  }
  for (size_t p = 0; p < k; p++)
    for (size_t j = 0; j < n; j++) {
      float v = b[p * ldb + j];
      bd[p * n + j] = round_inputs ? tw_round_bf16(v) : v;
    }
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) row[j] = 0.0;
    for (size_t p = 0; p < k; p++) {
      float v = a[i * lda + p];
      double av = round_inputs ? tw_round_bf16(v) : v;
      const double *brow = bd + p * n;
      for (size_t j = 0; j < n; j++) row[j] += av * brow[j];
    }
    for (size_t j = 0; j < n; j++) c[i * ldc + j] = row[j] + (bias ? (double)bias[j] : 0.0);
  }
  tw_free(bd);
  tw_free(row);
  return TW_OK;
}


double tw_reference_rel_error(const float *x, size_t ldx, const double *ref, size_t ldr,
                              size_t m, size_t n, double *max_abs) {
  double num = 0, den = 0, mx = 0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double d = (double)x[i * ldx + j] - ref[i * ldr + j];
      num += d * d;
      den += ref[i * ldr + j] * ref[i * ldr + j];
      if (fabs(d) > mx || d != d) mx = fabs(d);
    }
  if (max_abs) *max_abs = mx;
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

void tw_reference_fill_uniform(float *x, size_t n, uint64_t *state) {
  for (size_t i = 0; i < n; i++) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((double)(*state >> 11) * 0x1.0p-52 - 1.0);
  }
}

/* The erf GELU over a row in portable C (kernels/elementwise.h), vectorized
 * by the compiler in AVX-512 and AVX2 clones. */
#include "kernels/elementwise.h"
#include "kernels/generic/math_inline.h"

TW_CLONES static void row_f32(const float *x, size_t n, float *y) {
  for (size_t j = 0; j < n; j++) y[j] = tw_gelu_f32(x[j]);
}

TW_CLONES static void row_bf16(const float *x, size_t n, tw_bf16 *y) {
  for (size_t j = 0; j < n; j++) y[j] = tw_bf16_finite(tw_gelu_f32(x[j]));
}

void tw_gelu_row_generic(const float *x, size_t n, void *y, int y_bf16) {
  if (y_bf16) row_bf16(x, n, y);
  else row_f32(x, n, y);
}

/* Portable small-M kernel: up to 4 rows of A against one K x 16 bf16 panel. */
#include "kernels/ukernel.h"
#include "tilewhisper/bf16.h"

#define NR 16

void tw_gemv_generic_bf16f32_4x16(int m, size_t k, const float *a, size_t lda, const void *bv,
                                  float *c, size_t ldc, int n, const float *bias) {
  const tw_bf16 *b = bv;
  float acc[TW_CPU_GEMV_MAX_M][NR] = {{0}};
  for (size_t p = 0; p < k; p++) {
    float bp[NR];
    for (int j = 0; j < NR; j++) bp[j] = tw_bf16_to_fp32(b[p * NR + (size_t)tw_cpu_bf16_slot(j, NR)]);
    for (int i = 0; i < m; i++) {
      float ai = a[(size_t)i * lda + p];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * bp[j];
    }
  }
  tw_ukr_store_tile(&acc[0][0], NR, c, ldc, m, n, 0, bias);
}

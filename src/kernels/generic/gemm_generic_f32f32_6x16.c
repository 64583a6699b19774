/* Portable 6x16 microkernel, fp32 B.  See docs/microkernel.md. */
#include "kernels/ukernel.h"

#define MR 6
#define NR 16

void tw_gemm_generic_f32f32_6x16(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                                 int m, int n, int accumulate, const float *bias) {
  const float *b = bv;
  float acc[MR][NR] = {{0}};
  for (size_t p = 0; p < kc; p++) {
    const float *ap = a + p * MR, *bp = b + p * NR;
    for (int i = 0; i < MR; i++) {
      float ai = ap[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * bp[j];
    }
  }
  tw_ukr_store_tile(&acc[0][0], NR, c, ldc, m, n, accumulate, bias);
}

/* Portable 6x16 microkernel, bf16 B (interleaved rows, see kernels.h). */
#include "kernels/ukernel.h"
#include "tilewhisper/bf16.h"

#define MR 6
#define NR 16

void tw_gemm_generic_bf16f32_6x16(size_t kc, const float *a, const void *bv, float *c, size_t ldc,
                                  int m, int n, int accumulate, const float *bias) {
  const tw_bf16 *b = bv;
  float acc[MR][NR] = {{0}};
  for (size_t p = 0; p < kc; p++) {
    const float *ap = a + p * MR;
    float bp[NR];
    for (int j = 0; j < NR; j++) bp[j] = tw_bf16_to_fp32(b[p * NR + (size_t)tw_cpu_bf16_slot(j, NR)]);
    for (int i = 0; i < MR; i++) {
      float ai = ap[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * bp[j];
    }
  }
  tw_ukr_store_tile(&acc[0][0], NR, c, ldc, m, n, accumulate, bias);
}

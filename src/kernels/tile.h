/* The tile kernel every fixed-shape device runs: bf16 inputs, fp32
 * accumulation, fp32 (or bf16-rounded) output.
 *
 * C[m x n] (+)= A[m x k] . B[k x n], row-major with leading dimensions.
 * The summation order is fixed (p ascending for each C element, added to the
 * previous C value last when accumulating), so results are bit-identical
 * whichever device or thread runs the tile. */
#ifndef TW_KERNELS_TILE_H
#define TW_KERNELS_TILE_H

#include <stddef.h>

#include "tilewhisper/bf16.h"

void tw_tile_gemm_bf16(int m, int k, int n, const tw_bf16 *a, size_t lda, const tw_bf16 *b,
                       size_t ldb, float *c, size_t ldc, int accumulate);

/* Same, writing C as bf16 (round to nearest even); when accumulating, the
 * previous bf16 C is widened, added, and rounded again. */
void tw_tile_gemm_bf16_out_bf16(int m, int k, int n, const tw_bf16 *a, size_t lda,
                                const tw_bf16 *b, size_t ldb, tw_bf16 *c, size_t ldc,
                                int accumulate);

#endif

/* Element-wise kernels with an ISA-specific body, for the encoder's ops
 * (src/whisper/ops.c picks them at run time where the CPU has the ISA). */
#ifndef TW_KERNELS_ELEMENTWISE_H
#define TW_KERNELS_ELEMENTWISE_H

#include <stddef.h>

/* y[j] = x[j] Phi(x[j]) for j < n (the erf GELU), y fp32 or, when y_bf16,
 * bf16 (RNE, finite values).  AVX-512 F/BW/VL/DQ. */
void tw_gelu_row_avx512(const float *x, size_t n, void *y, int y_bf16);

#endif

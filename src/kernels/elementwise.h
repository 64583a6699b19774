/* Element-wise kernels: the GELU (the encoder's ops and the GEMM epilogue,
 * with a body per ISA picked at run time) and the bf16 k-pair writers of
 * the cpu device's weight refills. */
#ifndef TW_KERNELS_ELEMENTWISE_H
#define TW_KERNELS_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

/* y[j] = x[j] Phi(x[j]) for j < n (the erf GELU, Abramowitz & Stegun
 * 7.1.26 for erf: within 1e-7 |x| of exact), y fp32 or, when y_bf16, bf16
 * (RNE, finite values); y may be x (fp32). */
typedef void (*tw_gelu_row_fn)(const float *x, size_t n, void *y, int y_bf16);
void tw_gelu_row_generic(const float *x, size_t n, void *y, int y_bf16);
/* AVX-512 F/BW/VL/DQ, without a division. */
void tw_gelu_row_avx512(const float *x, size_t n, void *y, int y_bf16);
/* The fastest body this CPU runs. */
tw_gelu_row_fn tw_gelu_row_kernel(void);

/* bf16 k-pair words (bf16 of the first value low, the second high; RNE,
 * finite values), to write a product's fp32 output into k-pair weights:
 * tw_pair_rows: dst[j] = (r0[j], r1[j]) for j < n (r1 NULL: 0 high);
 * tw_pair_cols: dst[q * ld_dst + r] = (c[r][2q], c[r][2q + 1]) for r < m,
 * q < pairs (c row stride ldc). */
void tw_pair_rows(const float *r0, const float *r1, size_t n, uint32_t *dst);
/* tw_pair_cols runs the AVX-512 body where the CPU has it (16 x 16
 * transposes instead of one store per word), else the portable one. */
void tw_pair_cols(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                  size_t ld_dst);
void tw_pair_cols_generic(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                          size_t ld_dst);
void tw_pair_cols_avx512(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                         size_t ld_dst);

#endif

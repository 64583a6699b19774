/* CPU GEMM microkernels and the kernel sets that group them.
 * The contract is docs/microkernel.md; in short:
 *
 *   ukr(kc, a, b, c, ldc, m, n, accumulate, bias)
 *     a: packed MR x kc panel, a[p*MR + i] (fp32, zero rows past the edge)
 *     b: packed kc x NR panel, row p at b + p*NR (fp32, or bf16 in the
 *        set's layout, tw_cpu_bf16_index: zero columns past the edge)
 *     C[m x n] = (accumulate ? C : 0) + a.b, then + bias[0..n) if bias;
 *     C is not read when accumulate == 0.
 *
 *   gemv(m, k, a, lda, b, c, ldc, n, bias)     m <= TW_CPU_GEMV_MAX_M
 *     C[m x n] = A[m x k] (fp32, lda) . one whole K x NR panel (+ bias).
 */
#ifndef TW_KERNELS_UKERNEL_H
#define TW_KERNELS_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#define TW_CPU_MAX_MR 16
/* ... and of any set's dot-product kernel (mr_dp: the AMX kernel's 32) */
#define TW_CPU_MAX_MR_DP 32
#define TW_CPU_MAX_NR 32
#define TW_CPU_GEMV_MAX_M 4
/* The streaming (small-M) path takes M up to this, calling the gemv kernel
 * on groups of <= TW_CPU_GEMV_MAX_M rows per panel while the panel is in
 * cache: five beams read the weights once, not through the blocked path. */
#define TW_CPU_STREAM_MAX_M 8

typedef void (*tw_ukr_fn)(size_t kc, const float *a, const void *b, float *c, size_t ldc, int m,
                          int n, int accumulate, const float *bias);
/* Packs one MR-row panel of A: rows x kc (rows <= MR) from `a` (fp32, or
 * bf16 when a_bf16; row stride lda) into dst[p*MR + i], rounding fp32 to
 * bf16 when `round`, zero rows from `rows` to MR. */
typedef void (*tw_pack_a_fn)(const void *a, int a_bf16, size_t lda, int round, size_t rows,
                             size_t kc, float *dst);
/* bf16 x bf16 dot-product kernel (AVX512_BF16): a holds MR-row panels of A
 * rounded to bf16, as k-pairs: word a[q*MR + i] = bf16 A[i][2q] in the low
 * half, A[i][2q+1] in the high half (0 past kc).  B in the k-pair layout. */
typedef void (*tw_ukr_dp_fn)(size_t kc, const uint32_t *a, const void *b, float *c, size_t ldc,
                             int m, int n, int accumulate, const float *bias);
/* Packs one panel of A for tw_ukr_dp_fn: rows x kc from fp32 (rounded to
 * bf16, RNE) or bf16 A; ceil(kc/2) * MR words. */
typedef void (*tw_pack_a_pairs_fn)(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                                   uint32_t *dst);
typedef void (*tw_gemv_fn)(int m, size_t k, const float *a, size_t lda, const void *b, float *c,
                           size_t ldc, int n, const float *bias);
/* Small-M dot-product kernel (AVX512_BF16): m <= TW_CPU_STREAM_MAX_M rows of
 * A as bf16 k-pairs (row i at a + i*lda words, ceil(k/2) of them, 0 in the
 * high half past k) against one whole K x NR bf16 panel in the k-pair
 * layout; C as gemv (beta = 0, + bias). */
typedef void (*tw_gemv_dp_fn)(int m, size_t k, const uint32_t *a, size_t lda, const void *b,
                              float *c, size_t ldc, int n, const float *bias);

/* One kernel set; every kernel in it shares MR and NR. */
typedef struct tw_cpu_kernels {
  const char *isa; /* "generic", "avx2", "avx512", "avx512bf16" */
  /* Sets of one family share their FMA kernels, NR and bf16 layout (so
   * their packed weights): avx512bf16 is avx512 plus ukr_dp. */
  const char *family;
  int mr, nr;
  tw_ukr_fn ukr_f32;   /* B stored as fp32 */
  tw_ukr_fn ukr_bf16;  /* B stored as bf16 */
  tw_gemv_fn gemv_f32; /* small M, B fp32 */
  tw_gemv_fn gemv_bf16;
  tw_pack_a_fn pack_a; /* NULL: the portable packer for this MR */
  /* bf16 B layout: 0 = one row per k, halves interleaved (tw_cpu_bf16_slot);
   * 1 = k-pairs: rows 2q and 2q+1 interleaved column by column, panels
   * padded to an even number of rows (tw_cpu_bf16_index). */
  int bf16_pairs;
  tw_ukr_dp_fn ukr_dp;             /* bf16 A x bf16 B, or NULL */
  tw_pack_a_pairs_fn pack_a_pairs; /* with ukr_dp */
  tw_gemv_dp_fn gemv_dp;           /* small M, bf16 A x bf16 B, with ukr_dp */
  /* ukr_dp's own A panels when they differ from the FMA kernels' (AMX):
   * mr_dp rows (0: mr), kc rounded up to a multiple of kpad_dp (0: 2);
   * pack_a_pairs writes that layout.  dp_end (or NULL) runs on a thread
   * after its last ukr_dp call of a task (AMX: releases the tiles). */
  int mr_dp, kpad_dp;
  void (*dp_end)(void);
  /* gemv_dp's A, when nonzero (AMX): this many rows (zero past m), each
   * kc rounded up to kpad_dp with zeros; else m rows of ceil(k/2) words. */
  int gemv_dp_rows;
} tw_cpu_kernels;

/* Rows of one ukr_dp A panel, and its 32-bit words for depth kc. */
static inline size_t tw_cpu_dp_mr(const tw_cpu_kernels *ks) {
  return (size_t)(ks->mr_dp ? ks->mr_dp : ks->mr);
}
static inline size_t tw_cpu_dp_panel_words(const tw_cpu_kernels *ks, size_t kc) {
  const size_t kp = (size_t)(ks->kpad_dp ? ks->kpad_dp : 2);
  return tw_cpu_dp_mr(ks) * ((kc + kp - 1) / kp * kp / 2);
}

/* Position of column j (0 <= j < nr) inside a packed bf16 row: the two
 * halves of the row are interleaved (col j at 2j, col j + nr/2 at 2j + 1), so
 * that a vector of 32-bit lanes widens into columns [0, nr/2) by a 16-bit
 * left shift and into columns [nr/2, nr) by masking the low half. */
static inline int tw_cpu_bf16_slot(int j, int nr) {
  int h = nr / 2;
  return j < h ? 2 * j : 2 * (j - h) + 1;
}

/* Element offset of W[p, j] inside a packed bf16 panel (p < k, j < nr). */
static inline size_t tw_cpu_bf16_index(size_t p, int j, int nr, int pairs) {
  if (pairs) return (p & ~(size_t)1) * (size_t)nr + 2 * (size_t)j + (p & 1);
  return p * (size_t)nr + (size_t)tw_cpu_bf16_slot(j, nr);
}

/* Stores the top-left m x n of an accumulator tile t (row stride ldt) into C
 * with the contract's beta and bias rules; shared by every edge path. */
static inline void tw_ukr_store_tile(const float *t, int ldt, float *c, size_t ldc, int m, int n,
                                     int accumulate, const float *bias) {
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    for (int j = 0; j < n; j++) {
      float v = t[i * ldt + j];
      if (accumulate) v = ci[j] + v;
      if (bias) v = v + bias[j];
      ci[j] = v;
    }
  }
}

/* Kernel set selection: the generic set, overridden from CPUID; `force`
 * ("generic", "avx2", "avx512" or NULL = best) picks one.  Returns 0, or -1
 * when the forced set is unknown or not supported by this CPU. */
int tw_cpu_kernels_select(const char *force, tw_cpu_kernels *out);

/* The sets this CPU runs, oldest first; returns how many (<= cap). */
#define TW_CPU_MAX_SETS 5
int tw_cpu_kernels_usable(const tw_cpu_kernels **out, int cap);

/* Portable C. */
void tw_gemm_generic_f32f32_6x16(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                                 int m, int n, int accumulate, const float *bias);
void tw_gemm_generic_bf16f32_6x16(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                                  int m, int n, int accumulate, const float *bias);
void tw_gemv_generic_f32f32_4x16(int m, size_t k, const float *a, size_t lda, const void *b,
                                 float *c, size_t ldc, int n, const float *bias);
void tw_gemv_generic_bf16f32_4x16(int m, size_t k, const float *a, size_t lda, const void *b,
                                  float *c, size_t ldc, int n, const float *bias);

/* AVX2 + FMA (src/kernels/avx2). */
void tw_gemm_avx2_f32f32_6x16(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                              int m, int n, int accumulate, const float *bias);
void tw_gemm_avx2_bf16f32_6x16(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                               int m, int n, int accumulate, const float *bias);
void tw_gemv_avx2_f32f32_4x16(int m, size_t k, const float *a, size_t lda, const void *b,
                              float *c, size_t ldc, int n, const float *bias);
void tw_gemv_avx2_bf16f32_4x16(int m, size_t k, const float *a, size_t lda, const void *b,
                               float *c, size_t ldc, int n, const float *bias);
/* AVX-512 F/BW/VL/DQ (src/kernels/avx512). */
void tw_gemm_avx512_f32f32_14x32(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                                 int m, int n, int accumulate, const float *bias);
void tw_gemm_avx512_bf16f32_14x32(size_t kc, const float *a, const void *b, float *c, size_t ldc,
                                  int m, int n, int accumulate, const float *bias);
void tw_gemv_avx512_f32f32_4x32(int m, size_t k, const float *a, size_t lda, const void *b,
                                float *c, size_t ldc, int n, const float *bias);
void tw_gemv_avx512_bf16f32_4x32(int m, size_t k, const float *a, size_t lda, const void *b,
                                 float *c, size_t ldc, int n, const float *bias);

void tw_gemm_avx512bf16_bf16f32_14x32(size_t kc, const uint32_t *a, const void *b, float *c,
                                      size_t ldc, int m, int n, int accumulate,
                                      const float *bias);
void tw_gemv_avx512bf16_bf16bf16_8x32(int m, size_t k, const uint32_t *a, size_t lda,
                                      const void *b, float *c, size_t ldc, int n,
                                      const float *bias);
void tw_pack_a_pairs_avx512_14(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                               uint32_t *dst);
void tw_pack_a_avx512_14(const void *a, int a_bf16, size_t lda, int round, size_t rows,
                         size_t kc, float *dst);

/* AMX-TILE + AMX-BF16 (src/kernels/amx): tw_amx_usable (amx_support.c,
 * baseline ISA) tells whether this CPU and OS let the process use them. */
int tw_amx_usable(void);
void tw_gemm_amx_bf16f32_32x32(size_t kc, const uint32_t *a, const void *b, float *c, size_t ldc,
                               int m, int n, int accumulate, const float *bias);
void tw_pack_a_amx_32(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                      uint32_t *dst);
void tw_gemv_amx_bf16bf16_16x32(int m, size_t k, const uint32_t *a, size_t lda, const void *b,
                                float *c, size_t ldc, int n, const float *bias);
#define TW_CPU_AMX_GEMV_ROWS 16
void tw_amx_release(void);

void tw_pack_a_avx2_6(const void *a, int a_bf16, size_t lda, int round, size_t rows, size_t kc,
                      float *dst);
/* IEEE half -> fp32 with F16C. */
void tw_f16_to_f32_n_avx2(const uint16_t *src, float *dst, size_t n);

#endif

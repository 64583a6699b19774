#include "kernels/tile.h"

/* B elements are widened in the inner loop (a shift the compiler vectorizes)
 * and four rows of C share each B row load.  Every C element is summed in
 * the same order (p = 0..k-1, then added to the old C when accumulating)
 * whatever the vector width, so results are reproducible bit for bit. */
/* No clones under ThreadSanitizer: their load-time resolvers would run
 * instrumented before the sanitizer is initialised. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define TW_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TW_CLONES
#endif

enum { STRIP = 256, ROWS = 4 };

TW_CLONES static void strip_product(int mr, int k, int nn, const tw_bf16 *a, size_t lda,
                                    const tw_bf16 *b, size_t ldb, float acc[ROWS][STRIP]) {
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < nn; j++) acc[r][j] = 0.0f;
  for (int p = 0; p < k; p++) {
    const tw_bf16 *brow = b + (size_t)p * ldb;
    float av[ROWS] = {0};
    for (int r = 0; r < mr; r++) av[r] = tw_bf16_to_fp32(a[(size_t)r * lda + (size_t)p]);
    for (int j = 0; j < nn; j++) {
      float bv = tw_bf16_to_fp32(brow[j]);
      acc[0][j] += av[0] * bv;
      acc[1][j] += av[1] * bv;
      acc[2][j] += av[2] * bv;
      acc[3][j] += av[3] * bv;
    }
  }
}

static void tile_run(int m, int k, int n, const tw_bf16 *a, size_t lda, const tw_bf16 *b,
                     size_t ldb, float *c_f32, tw_bf16 *c_bf16, size_t ldc, int accumulate) {
  float acc[ROWS][STRIP];
  for (int i0 = 0; i0 < m; i0 += ROWS) {
    int mr = m - i0 < ROWS ? m - i0 : ROWS;
    for (int n0 = 0; n0 < n; n0 += STRIP) {
      int nn = n - n0 < STRIP ? n - n0 : STRIP;
      strip_product(mr, k, nn, a + (size_t)i0 * lda, lda, b + n0, ldb, acc);
      for (int r = 0; r < mr; r++) {
        size_t row = (size_t)(i0 + r) * ldc + (size_t)n0;
        if (c_f32) {
          float *crow = c_f32 + row;
          for (int j = 0; j < nn; j++) crow[j] = accumulate ? crow[j] + acc[r][j] : acc[r][j];
        } else {
          tw_bf16 *crow = c_bf16 + row;
          for (int j = 0; j < nn; j++)
            crow[j] = tw_fp32_to_bf16(accumulate ? tw_bf16_to_fp32(crow[j]) + acc[r][j] : acc[r][j]);
        }
      }
    }
  }
}

void tw_tile_gemm_bf16(int m, int k, int n, const tw_bf16 *a, size_t lda, const tw_bf16 *b,
                       size_t ldb, float *c, size_t ldc, int accumulate) {
  tile_run(m, k, n, a, lda, b, ldb, c, NULL, ldc, accumulate);
}

void tw_tile_gemm_bf16_out_bf16(int m, int k, int n, const tw_bf16 *a, size_t lda,
                                const tw_bf16 *b, size_t ldb, tw_bf16 *c, size_t ldc,
                                int accumulate) {
  tile_run(m, k, n, a, lda, b, ldb, NULL, c, ldc, accumulate);
}

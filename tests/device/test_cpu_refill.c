#define _POSIX_C_SOURCE 200809L /* setenv */
/* Writing many weights from column blocks of one matrix
 * (tw_weight_update_cols; the cpu device's one-pass refill.c, the others'
 * weight by weight): the decoder's per-head K_h^T (transposed sources) and
 * V_h from a K | V product.  Each refilled weight is checked through a
 * product against an fp64 reference built here from the source columns
 * rounded to bf16, and bit for bit against refilling it alone with
 * tw_weight_update; odd and even row counts, head sizes 8, 24 and 64,
 * 1 and 2 threads, the planned `fixed` device (fallback), a shape
 * mismatch; and the k-pair column writers alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm/engine.h"
#include "kernels/elementwise.h"
#include "kernels/ukernel.h"
#include "tw_test.h"


/* bf16 rounding to nearest even by frexp/ldexp (8 significant bits). */

/* max |C - ref| / sum |a w| of C = A . W, W weight i's K x N view of the
 * source (transposed: W[p][j] = src[j][col + p]; else src[p][col + j]). */
static double check_product(tw_stream *s, tw_weight *w, const float *src, size_t ld, size_t col,
                            int transposed) {
  enum { M = 3 };
  const size_t K = tw_weight_k(w), N = tw_weight_n(w);
  float *a = malloc(M * K * sizeof *a), *c = malloc(M * N * sizeof *c);
  /* A exact in bf16 (every device rounds A to bf16 by default) */
  for (size_t p = 0; p < M * K; p++) a[p] = (float)((int)((p * 7919) % 17) - 8) / 8.0f;
  int rc = tw_gemm(s, M, K, a, TW_DTYPE_F32, K, w, c, N, NULL);
  CHECK_MSG(rc == TW_OK, "product: %s", tw_stream_last_error(s));
  double worst = rc ? 1 : 0;
  for (size_t i = 0; i < M && !rc; i++)
    for (size_t j = 0; j < N; j++) {
      double sum = 0, mag = 0;
      for (size_t p = 0; p < K; p++) {
        double wv = transposed ? src[j * ld + col + p] : src[p * ld + col + j];
        double t = (double)a[i * K + p] * tw_test_bf16_round(wv);
        sum += t, mag += fabs(t);
      }
      double e = fabs(c[i * N + j] - sum) / (mag > 0 ? mag : 1);
      if (e > worst) worst = e;
    }
  free(a), free(c);
  return worst;
}

static void run_case(const char *dev_name, int threads, size_t T, size_t d, size_t heads) {
  tw_stream *s = NULL;
  tw_device *dev = tw_test_open_device(dev_name, threads, &s);
  if (!dev) return;
  const size_t n = heads * d, ld = 2 * n + 3; /* K | V, and a ragged stride */
  float *src = malloc(T * ld * sizeof *src);
  tw_rng r = {T * 31 + d};
  tw_fill_uniform(&r, src, T * ld, -2.0f, 2.0f);
  enum { MAXW = 16 };
  tw_weight *w[MAXW] = {0}, *alone[MAXW] = {0};
  size_t col[MAXW];
  int transposed[MAXW];
  const size_t nw = 2 * heads;
  for (size_t h = 0; h < heads; h++) {
    col[2 * h] = h * d, transposed[2 * h] = 1;
    col[2 * h + 1] = n + h * d, transposed[2 * h + 1] = 0;
  }
  int ok = 1;
  for (size_t i = 0; i < nw && ok; i++) {
    /* prepared from other values: the refill must replace all of them */
    tw_weight_desc desc = {.data = src + (T - 1 - i % T) * 0, .dtype = TW_DTYPE_F32, .ld = ld,
                           .transposed = transposed[i]};
    desc.k = transposed[i] ? d : T, desc.n = transposed[i] ? T : d;
    desc.data = src + col[(i + 1) % nw] % (ld - d);
    ok = tw_weight_prepare(dev, &desc, &w[i]) == TW_OK &&
         tw_weight_prepare(dev, &desc, &alone[i]) == TW_OK;
  }
  CHECK_MSG(ok, "%s: prepare: %s", dev_name, tw_device_last_error(dev));
  if (ok) {
    int rc = tw_weight_update_cols(s, nw, w, src, ld, T, col);
    CHECK_MSG(rc == TW_OK, "%s T %zu d %zu: %s", dev_name, T, d, tw_stream_last_error(s));
    for (size_t i = 0; i < nw && !rc; i++) {
      CHECK(tw_weight_update(s, alone[i], src + col[i], ld) == TW_OK);
      double e = check_product(s, w[i], src, ld, col[i], transposed[i]);
      CHECK_MSG(e <= 1e-5, "%s %d threads T %zu d %zu weight %zu: error %.3g", dev_name, threads,
                T, d, i, e);
      /* the same products from the weight refilled alone, bit for bit */
      enum { M = 2 };
      const size_t K = tw_weight_k(w[i]), N = tw_weight_n(w[i]);
      float *a = calloc(M * K, sizeof *a), *c1 = malloc(M * N * 4), *c2 = malloc(M * N * 4);
      for (size_t p = 0; p < M * K; p++) a[p] = (float)((p * 37) % 11) - 5.0f;
      CHECK(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, w[i], c1, N, NULL) == TW_OK);
      CHECK(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, alone[i], c2, N, NULL) == TW_OK);
      CHECK_MSG(memcmp(c1, c2, M * N * 4) == 0, "%s T %zu d %zu weight %zu: differs from a "
                "refill alone", dev_name, T, d, i);
      free(a), free(c1), free(c2);
    }
    /* a weight whose rows do not match: an error naming the shapes */
    rc = tw_weight_update_cols(s, nw, w, src, ld, T + 2, col);
    CHECK_MSG(rc != TW_OK, "%s: %zu rows accepted for weights of %zu", dev_name, T + 2, T);
  }
  for (size_t i = 0; i < nw; i++) tw_weight_destroy(w[i]), tw_weight_destroy(alone[i]);
  free(src);
  tw_stream_destroy(s);
  tw_device_destroy(dev);
}

/* tw_gemm_into_cols: the product K | V = A.W + b (T x 2n) and every head's
 * weights from it in one call (on cpu written block by block, C never
 * stored for a single KC block; elsewhere refilled after the product);
 * each weight equals, product for product and bit for bit, the same
 * weight refilled alone from the same product computed by tw_gemm.  K 600
 * takes two KC blocks (C stored, then written from it); T 5 the small-M
 * path; heads of 9 features put k-pairs across column blocks. */
static void run_product_case(const char *dev_name, int threads, size_t T, size_t K, size_t d,
                             size_t heads) {
  tw_stream *s = NULL;
  tw_device *dev = tw_test_open_device(dev_name, threads, &s);
  if (!dev) return;
  const size_t n = heads * d, N = 2 * n;
  float *a = malloc(T * K * sizeof *a), *wv = malloc(K * N * sizeof *wv);
  float *bias = malloc(N * sizeof *bias), *c = malloc(T * N * sizeof *c);
  float *cref = malloc(T * N * sizeof *cref);
  tw_rng r = {T * 7 + K};
  tw_fill_uniform(&r, a, T * K, -1.0f, 1.0f);
  tw_fill_uniform(&r, wv, K * N, -0.3f, 0.3f);
  tw_fill_uniform(&r, bias, N, -1.0f, 1.0f);
  tw_weight_desc wd = {.data = wv, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N, .bias = bias};
  tw_weight *prod = NULL;
  int ok = tw_weight_prepare(dev, &wd, &prod) == TW_OK;
  enum { MAXW = 16 };
  tw_weight *w[MAXW] = {0}, *alone[MAXW] = {0};
  size_t col[MAXW];
  const size_t nw = 2 * heads;
  for (size_t i = 0; i < nw && ok; i++) {
    const int t = i % 2 == 0;
    col[i] = t ? i / 2 * d : n + i / 2 * d;
    tw_weight_desc desc = {.data = a, .dtype = TW_DTYPE_F32, .ld = K, .transposed = t};
    desc.k = t ? d : T, desc.n = t ? T : d;
    ok = d <= K && tw_weight_prepare(dev, &desc, &w[i]) == TW_OK &&
         tw_weight_prepare(dev, &desc, &alone[i]) == TW_OK;
  }
  CHECK_MSG(ok, "%s: prepare: %s", dev_name, tw_device_last_error(dev));
  int rc = ok ? tw_gemm_into_cols(s, T, K, a, TW_DTYPE_F32, K, prod, c, N, NULL, nw, w, col) : 1;
  CHECK_MSG(rc == TW_OK, "%s T %zu K %zu: %s", dev_name, T, K, tw_stream_last_error(s));
  if (!rc) rc = tw_gemm(s, T, K, a, TW_DTYPE_F32, K, prod, cref, N, NULL);
  for (size_t i = 0; i < nw && !rc; i++) {
    CHECK(tw_weight_update(s, alone[i], cref + col[i], N) == TW_OK);
    enum { M = 3 };
    const size_t KK = tw_weight_k(w[i]), NN = tw_weight_n(w[i]);
    float *x = malloc(M * KK * sizeof *x), *c1 = malloc(M * NN * 4), *c2 = malloc(M * NN * 4);
    for (size_t p = 0; p < M * KK; p++) x[p] = (float)((int)((p * 37) % 11) - 5);
    CHECK(tw_gemm(s, M, KK, x, TW_DTYPE_F32, KK, w[i], c1, NN, NULL) == TW_OK);
    CHECK(tw_gemm(s, M, KK, x, TW_DTYPE_F32, KK, alone[i], c2, NN, NULL) == TW_OK);
    CHECK_MSG(memcmp(c1, c2, M * NN * 4) == 0, "%s %d threads T %zu K %zu d %zu weight %zu: "
              "differs from the product refilled alone", dev_name, threads, T, K, d, i);
    free(x), free(c1), free(c2);
  }
  for (size_t i = 0; i < nw; i++) tw_weight_destroy(w[i]), tw_weight_destroy(alone[i]);
  tw_weight_destroy(prod);
  free(a), free(wv), free(bias), free(c), free(cref);
  tw_stream_destroy(s);
  tw_device_destroy(dev);
}

/* The k-pair column writers directly (the portable body and, where the CPU
 * has it, the AVX-512 one) against words built here from bf16 rounding by
 * frexp/ldexp: every row count 1..37 and pair count 1..20 (masks, partial
 * 16 x 16 blocks), a destination stride wider than the rows, and words
 * outside the written rectangle left alone. */
static void test_pair_cols(void) {
  enum { M = 37, P = 20, LDC = 45, LDD = 41 };
  static float c[M * LDC];
  static uint32_t got[P * LDD], want[P * LDD];
  tw_rng r = {99};
  tw_fill_uniform(&r, c, M * LDC, -3.0f, 3.0f);
  int have512 = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  have512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
  int bad = 0;
  for (int body = 0; body < 1 + have512; body++)
    for (size_t m = 1; m <= M; m++)
      for (size_t pairs = 1; pairs <= P; pairs++) {
        for (size_t i = 0; i < P * LDD; i++) got[i] = want[i] = 0xdeadbeefu;
        for (size_t q = 0; q < pairs; q++)
          for (size_t i = 0; i < m; i++) {
            uint32_t w = 0;
            for (int h = 0; h < 2; h++) {
              float f = (float)tw_test_bf16_round(c[i * LDC + 2 * q + (size_t)h]);
              uint32_t u;
              memcpy(&u, &f, sizeof u);
              w |= (u >> 16) << (16 * h);
            }
            want[q * LDD + i] = w;
          }
        if (body) tw_pair_cols_avx512(c, LDC, m, pairs, got, LDD);
        else tw_pair_cols_generic(c, LDC, m, pairs, got, LDD);
        if (memcmp(got, want, sizeof got)) bad++;
      }
  CHECK_MSG(bad == 0, "pair_cols: %d of %d shapes wrong", bad, (1 + have512) * M * P);
  printf("  pair_cols: portable%s body, %d shapes each\n", have512 ? " and AVX-512" : "", M * P);
}

int main(void) {
  test_pair_cols();
  for (int threads = 1; threads <= 2; threads++) {
    run_product_case("cpu", threads, 100, 64, 64, 2);
    run_product_case("cpu", threads, 33, 64, 24, 3);
    run_product_case("cpu", threads, 1500, 128, 64, 2);
    run_product_case("cpu", threads, 101, 600, 64, 2);
    run_product_case("cpu", threads, 5, 64, 64, 2);
    run_product_case("cpu", threads, 33, 64, 9, 4); /* odd heads: k-pairs split by blocks */
  }
  run_product_case("fixed", 1, 100, 64, 64, 2);
  /* the 14-row blocks of the avx512 sets (FMA, and VDPBF16PS where the CPU
   * has it) write the heads too */
  static const char *const sets14[] = {"avx512", "avx512bf16"};
  for (int i = 0; i < 2; i++) {
    tw_cpu_kernels ks;
    if (tw_cpu_kernels_select(sets14[i], &ks) != 0) {
      printf("test_cpu_refill: no %s set here, its blocks not run\n", sets14[i]);
      continue;
    }
    setenv("TW_CPU_KERNEL", sets14[i], 1);
    run_product_case("cpu", 2, 101, 64, 64, 2);
    run_product_case("cpu", 1, 33, 64, 9, 4);
    unsetenv("TW_CPU_KERNEL");
  }
  /* a kernel set whose bf16 weights are not k-pairs (avx2): the device
   * declines the block writes and the engine refills after the product */
  tw_cpu_kernels avx2;
  if (tw_cpu_kernels_select("avx2", &avx2) == 0) {
    setenv("TW_CPU_KERNEL", "avx2", 1);
    run_product_case("cpu", 2, 100, 64, 64, 2);
    run_case("cpu", 2, 33, 24, 3);
    unsetenv("TW_CPU_KERNEL");
  } else {
    printf("test_cpu_refill: no avx2 set here, the declined path not run\n");
  }
  static const size_t rows[] = {1, 2, 31, 33, 100, 1500};
  static const size_t dims[] = {8, 24, 64};
  for (int threads = 1; threads <= 2; threads++)
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++)
      for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        if (rows[ri] == 1500 && dims[di] != 64) continue;
        run_case("cpu", threads, rows[ri], dims[di], rows[ri] == 1500 ? 2 : 3);
      }
  run_case("fixed", 1, 33, 64, 2);
  return tw_test_finish("test_cpu_refill");
}

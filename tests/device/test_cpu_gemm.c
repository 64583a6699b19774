/* The cpu device's direct path against the fp64 oracle: every kernel set this
 * CPU runs (forced with TW_CPU_KERNEL), ragged shapes, small blocking (so the
 * K, M and N block loops all run on small problems) and the default
 * blocking, both weight storages, A fp32/bf16 computed in fp32/bf16, plain
 * and transposed weights from F32/BF16/F16 sources, bias, padded lda/ldc,
 * 1..4 threads; results bitwise identical across runs and thread counts. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "device/device.h"
#include "tw_test.h"

static const char *const isas[] = {"generic", "avx2", "avx512", "avx512bf16", "amx"};

typedef struct combo {
  tw_dtype src, storage, a_type, a_compute;
  int transposed, bias;
} combo;

static combo combo_of(int c) {
  static const tw_dtype srcs[3] = {TW_DTYPE_F32, TW_DTYPE_BF16, TW_DTYPE_F16};
  combo x;
  x.src = srcs[c % 3];
  c /= 3;
  x.storage = c % 2 ? TW_DTYPE_BF16 : TW_DTYPE_F32;
  c /= 2;
  x.a_type = c % 2 ? TW_DTYPE_BF16 : TW_DTYPE_F32;
  c /= 2;
  x.a_compute = c % 2 ? TW_DTYPE_BF16 : TW_DTYPE_F32;
  c /= 2;
  x.transposed = c % 2;
  c /= 2;
  x.bias = c % 2;
  return x;
}
#define N_COMBOS 96

/* IEEE half, decoded independently of the library. */
static float half_value(uint16_t h) {
  int e = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v = e == 0 ? ldexp(man, -24) : ldexp(1024 + man, e - 25);
  return (float)((h & 0x8000) ? -v : v);
}

static uint16_t random_half(tw_rng *r) {
  /* exponents 8..16 (|x| in ~[2^-7, 4)) and a few subnormals */
  uint16_t sign = (uint16_t)((tw_rng_next(r) & 1) << 15);
  uint16_t man = (uint16_t)(tw_rng_next(r) & 0x3ff);
  int e = tw_rng_range(r, 0, 20);
  e = e < 2 ? 0 : 6 + e / 2;
  return (uint16_t)(sign | (e << 10) | man);
}

static int run_case(tw_device *dev, tw_rng *rng, size_t m, size_t k, size_t n, combo x,
                    const char *what) {
  int fails_before = tw_test_failures;
  size_t ld = (x.transposed ? k : n) + 3, lda = k + 2, ldc = n + 5;
  size_t rows = x.transposed ? n : k;
  float *wf = malloc(k * n * sizeof *wf); /* W[p][j] as the source holds it */
  void *wsrc = malloc(rows * ld * 4);
  for (size_t r = 0; r < rows; r++)
    for (size_t q = 0; q < ld; q++) {
      size_t p = x.transposed ? q : r, j = x.transposed ? r : q;
      int inside = q < (x.transposed ? k : n);
      float v;
      if (x.src == TW_DTYPE_F16) {
        uint16_t h = inside ? random_half(rng) : 0x7e00; /* NaN in padding */
        ((uint16_t *)wsrc)[r * ld + q] = h;
        v = half_value(h);
      } else {
        v = inside ? (float)tw_rng_uniform(rng) * 2.0f - 1.0f : NAN;
        if (x.src == TW_DTYPE_BF16) {
          ((tw_bf16 *)wsrc)[r * ld + q] = tw_fp32_to_bf16(v);
          v = tw_round_bf16(v);
        } else {
          ((float *)wsrc)[r * ld + q] = v;
        }
      }
      if (inside) wf[p * n + j] = x.storage == TW_DTYPE_BF16 ? tw_round_bf16(v) : v;
    }
  float *af = malloc(m * lda * sizeof *af), *aq = malloc(m * k * sizeof *aq);
  tw_bf16 *ab = malloc(m * lda * sizeof *ab);
  for (size_t i = 0; i < m; i++)
    for (size_t p = 0; p < lda; p++) {
      float v = p < k ? (float)tw_rng_uniform(rng) * 2.0f - 1.0f : NAN;
      af[i * lda + p] = v;
      ab[i * lda + p] = tw_fp32_to_bf16(v);
      if (p < k) {
        float seen = x.a_type == TW_DTYPE_BF16 ? tw_round_bf16(v) : v;
        aq[i * k + p] = x.a_compute == TW_DTYPE_BF16 ? tw_round_bf16(seen) : seen;
      }
    }
  float *bias = malloc(n * sizeof *bias);
  tw_fill_uniform(rng, bias, n, -1.0f, 1.0f);
  double *ref = malloc(m * n * sizeof *ref);
  float *c = malloc(m * ldc * sizeof *c), *c2 = malloc(m * ldc * sizeof *c2);
  CHECK(tw_reference_gemm_f64(m, k, n, aq, k, wf, n, x.bias ? bias : NULL, ref, n, 0) == TW_OK);

  tw_weight_src src = {.data = wsrc, .dtype = x.src, .k = k, .n = n, .ld = ld,
                       .storage = x.storage, .transposed = x.transposed};
  void *h = NULL;
  int rc = dev->iface->weight_prepare(dev, &src, &h);
  CHECK_MSG(rc == TW_OK, "%s: prepare: %s", what, dev->err.msg);
  if (rc == TW_OK) {
    tw_direct_gemm g = {.m = m, .k = k, .n = n,
                        .a = x.a_type == TW_DTYPE_BF16 ? (const void *)ab : (const void *)af,
                        .a_type = x.a_type, .lda = lda, .a_compute = x.a_compute, .weight = h,
                        .bias = x.bias ? bias : NULL, .c = c, .ldc = ldc};
    for (size_t i = 0; i < m * ldc; i++) c[i] = c2[i] = -7.0f;
    rc = dev->iface->gemm(dev, &g);
    CHECK_MSG(rc == TW_OK, "%s: gemm: %s", what, dev->err.msg);
    g.c = c2;
    CHECK(dev->iface->gemm(dev, &g) == TW_OK);
    CHECK_MSG(memcmp(c, c2, m * ldc * sizeof *c) == 0, "%s: two runs differ", what);
    double max_abs;
    double err = tw_reference_rel_error(c, ldc, ref, n, m, n, &max_abs);
    CHECK_MSG(err <= 1e-5, "%s %zux%zux%zu src=%d st=%d a=%d ac=%d tr=%d bias=%d: rel err %.3g",
              what, m, k, n, x.src, x.storage, x.a_type, x.a_compute, x.transposed, x.bias, err);
    int pad_ok = 1;
    for (size_t i = 0; i < m; i++)
      for (size_t j = n; j < ldc; j++) pad_ok &= c[i * ldc + j] == -7.0f;
    CHECK_MSG(pad_ok, "%s: C padding written", what);
    dev->iface->weight_release(dev, h);
  }
  free(wf);
  free(wsrc);
  free(af);
  free(aq);
  free(ab);
  free(bias);
  free(ref);
  free(c);
  free(c2);
  return tw_test_failures == fails_before;
}

static tw_device *make_device(const char *isa, tw_threadpool *pool, const char *options) {
  setenv("TW_CPU_KERNEL", isa, 1);
  tw_device_config cfg = {.pool = pool, .options = options};
  tw_device *dev = NULL;
  int rc = tw_registry_create("cpu", &cfg, &dev);
  unsetenv("TW_CPU_KERNEL");
  return rc == TW_OK ? dev : NULL;
}

static const size_t shapes[][3] = {
    {1, 1, 1},    {2, 3, 5},     {3, 17, 33},   {4, 64, 51},  {5, 1, 16},   {7, 13, 31},
    {6, 16, 16},  {13, 37, 29},  {61, 127, 97}, {67, 300, 45}, {130, 513, 70}, {521, 97, 50},
    {1, 520, 1000}, {31, 2, 1},  {97, 61, 131},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void test_isa(const char *isa, tw_rng *rng) {
  /* small blocking: every loop of the blocked algorithm runs several times */
  static const char *const blockings[] = {"mc=12,kc=16", NULL};
  for (int bi = 0; bi < 2; bi++)
    for (int threads = 1; threads <= 4; threads++) {
      tw_threadpool *pool = NULL;
      CHECK(tw_threadpool_create(threads, &pool) == TW_OK);
      tw_device *dev = make_device(isa, pool, blockings[bi]);
      CHECK_MSG(dev != NULL, "cpu device with %s kernels", isa);
      if (dev) {
        char what[96];
        snprintf(what, sizeof what, "%s %s t=%d", isa, blockings[bi] ? blockings[bi] : "default",
                 threads);
        for (size_t s = 0; s < N_SHAPES; s++) {
          size_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
          int small = m * k * n <= 20000;
          for (int c = 0; c < N_COMBOS; c++) {
            /* every combination on small shapes; a rotating eighth on big ones,
             * with one thread count covering all of them */
            if (!small && (c + (int)s + threads) % 8 != 0 && !(threads == 2 && bi == 1)) continue;
            if (!run_case(dev, rng, m, k, n, combo_of(c), what)) break;
          }
        }
      }
      tw_device_destroy(dev);
      tw_threadpool_destroy(pool);
    }
}

/* The same call on 1..4 threads gives the same bits. */
static void test_thread_invariance(const char *isa, tw_rng *rng) {
  const size_t m = 203, k = 300, n = 150;
  float *a = malloc(m * k * sizeof *a), *w = malloc(k * n * sizeof *w);
  float *c[4];
  tw_fill_uniform(rng, a, m * k, -1, 1);
  tw_fill_uniform(rng, w, k * n, -1, 1);
  for (int t = 1; t <= 4; t++) {
    c[t - 1] = malloc(m * n * sizeof(float));
    tw_threadpool *pool = NULL;
    CHECK(tw_threadpool_create(t, &pool) == TW_OK);
    tw_device *dev = make_device(isa, pool, "mc=24,kc=64");
    void *h = NULL;
    tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n,
                         .storage = TW_DTYPE_BF16};
    if (dev && dev->iface->weight_prepare(dev, &src, &h) == TW_OK) {
      tw_direct_gemm g = {.m = m, .k = k, .n = n, .a = a, .a_type = TW_DTYPE_F32, .lda = k,
                          .a_compute = TW_DTYPE_BF16, .weight = h, .c = c[t - 1], .ldc = n};
      CHECK(dev->iface->gemm(dev, &g) == TW_OK);
      dev->iface->weight_release(dev, h);
    } else {
      CHECK(0);
    }
    tw_device_destroy(dev);
    tw_threadpool_destroy(pool);
    if (t > 1) CHECK_MSG(memcmp(c[0], c[t - 1], m * n * sizeof(float)) == 0, "%s: %d threads", isa, t);
  }
  for (int t = 0; t < 4; t++) free(c[t]);
  free(a);
  free(w);
}

int main(void) {
  tw_rng rng = {2024};
  int ran = 0;
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    tw_device *probe = make_device(isas[i], NULL, NULL);
    if (!probe) {
      printf("kernel set %s: not available here, skipped\n", isas[i]);
      continue;
    }
    tw_device_destroy(probe);
    test_isa(isas[i], &rng);
    test_thread_invariance(isas[i], &rng);
    ran++;
  }
  CHECK(ran >= 1);
  return tw_test_finish("test_cpu_gemm");
}

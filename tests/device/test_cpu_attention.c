/* Fused attention on the cpu device against an fp64 reference written the
 * textbook way (the whole score row, its max, exps, normalisation, then
 * P.V): each block kernel directly, the device's threaded dispatcher with
 * row strides wider than the heads, bitwise equality across thread counts,
 * large scores (the running max must keep the exps finite), the engine's
 * tw_attention (cpu takes it, emu declines) and the error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "device/cpu/cpu.h"
#include "device/device.h"
#include "gemm/attention.h"
#include "kernels/attention.h"
#include "tw_test.h"
#include "tw_test_stack.h"

/* out[t][h d + c] in fp64 for every head; q, k, v are T x ld. */
static void reference(size_t T, size_t H, size_t d, double scale, const float *q, const float *k,
                      const float *v, size_t ld, double *out) {
  double *p = malloc(T * sizeof *p);
  if (!p) return;
  for (size_t h = 0; h < H; h++)
    for (size_t t = 0; t < T; t++) {
      double mx = -INFINITY, sum = 0;
      for (size_t s = 0; s < T; s++) {
        double dot = 0;
        for (size_t c = 0; c < d; c++) dot += (double)q[t * ld + h * d + c] * k[s * ld + h * d + c];
        p[s] = dot * scale;
        if (p[s] > mx) mx = p[s];
      }
      for (size_t s = 0; s < T; s++) sum += p[s] = exp(p[s] - mx);
      for (size_t c = 0; c < d; c++) {
        double o = 0;
        for (size_t s = 0; s < T; s++) o += p[s] / sum * v[s * ld + h * d + c];
        out[t * H * d + h * d + c] = o;
      }
    }
  free(p);
}

typedef struct attn_case {
  size_t T, H, d, ld;
  float scale;
  float *q, *k, *v, *out;
  double *ref;
} attn_case;

static int case_make(attn_case *a, size_t T, size_t H, size_t d, size_t pad, float qk_range,
                     unsigned long seed) {
  memset(a, 0, sizeof *a);
  a->T = T, a->H = H, a->d = d, a->ld = H * d + pad;
  a->scale = 1.0f / sqrtf((float)d);
  a->q = malloc(T * a->ld * sizeof(float));
  a->k = malloc(T * a->ld * sizeof(float));
  a->v = malloc(T * a->ld * sizeof(float));
  a->out = calloc(T * a->ld, sizeof(float));
  a->ref = malloc(T * H * d * sizeof(double));
  if (!a->q || !a->k || !a->v || !a->out || !a->ref) return -1;
  tw_rng rng = {seed};
  tw_fill_uniform(&rng, a->q, T * a->ld, -qk_range, qk_range);
  tw_fill_uniform(&rng, a->k, T * a->ld, -qk_range, qk_range);
  tw_fill_uniform(&rng, a->v, T * a->ld, -1, 1);
  reference(T, H, d, a->scale, a->q, a->k, a->v, a->ld, a->ref);
  return 0;
}

static void case_free(attn_case *a) {
  free(a->q), free(a->k), free(a->v), free(a->out), free(a->ref);
}

/* Max |out - ref| over the heads' columns (V is in [-1, 1]). */
static double max_err(const attn_case *a, const float *out, size_t ldo) {
  double worst = 0;
  for (size_t t = 0; t < a->T; t++)
    for (size_t j = 0; j < a->H * a->d; j++) {
      double e = fabs(out[t * ldo + j] - a->ref[t * a->H * a->d + j]);
      if (!(e <= worst)) worst = e; /* NaN counts as worst */
    }
  return worst;
}

/* A block kernel over every head and query block, as the device runs it. */
static void run_kernel(tw_attn_block_fn fn, attn_case *a) {
  for (size_t h = 0; h < a->H; h++)
    for (size_t i0 = 0; i0 < a->T; i0 += TW_ATTN_BQ) {
      size_t nq = a->T - i0 < TW_ATTN_BQ ? a->T - i0 : TW_ATTN_BQ, col = h * a->d;
      fn(nq, a->T, a->d, a->scale, a->q + i0 * a->ld + col, a->ld, a->k + col, a->ld,
         a->v + col, a->ld, a->out + i0 * a->ld + col, a->ld);
    }
}

static void test_kernels(void) {
  static const size_t shapes[][4] = {{77, 3, 64, 0}, {300, 2, 64, 5}, {45, 2, 40, 3}, {33, 1, 128, 0},
                                     {1, 1, 8, 0}};
  int avx512 = 0;
  tw_cpu_kernels ks;
  avx512 = tw_cpu_kernels_select("avx512", &ks) == 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int big = 0; big < 2; big++) {
      attn_case a;
      /* big: scores up to ~d * 16 / sqrt(d): a naive exp would overflow */
      int rc = case_make(&a, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3],
                         big ? 4.0f : 1.0f, 100 + s);
      CHECK(rc == 0);
      for (int kern = 0; !rc && kern < 1 + avx512; kern++) {
        memset(a.out, 0, a.T * a.ld * sizeof(float));
        run_kernel(kern ? tw_attn_block_avx512 : tw_attn_block_generic, &a);
        /* fp32 scores carry ~6e-8 |score| of rounding into the exponent:
         * up to ~1e-5 for the big scores, in the unfused path as well */
        double e = max_err(&a, a.out, a.ld), tol = big ? 5e-5 : 2e-6;
        CHECK_MSG(e < tol, "%s T %zu H %zu d %zu big %d: max err %.3g",
                  kern ? "avx512" : "generic", a.T, a.H, a.d, big, e);
      }
      case_free(&a);
    }
  }
}

static tw_device *make(tw_threadpool *pool, const char *opts) {
  tw_device *dev = NULL;
  tw_device_config cfg = {.pool = pool, .options = opts};
  return tw_registry_create("cpu", &cfg, &dev) == TW_OK ? dev : NULL;
}

static tw_attention_args args_of(const attn_case *a, float *out) {
  return (tw_attention_args){.T = a->T, .n_head = a->H, .d = a->d, .scale = a->scale, .q = a->q,
                             .k = a->k, .v = a->v, .ldq = a->ld, .ldk = a->ld, .ldv = a->ld,
                             .out = out, .ldo = a->ld};
}

static void test_device(tw_threadpool *pool) {
  tw_device *one = make(NULL, NULL), *two = make(pool, NULL);
  CHECK(one && two);
  attn_case a;
  CHECK(case_make(&a, 257, 4, 64, 7, 1.0f, 7) == 0);
  float *out2 = calloc(a.T * a.ld, sizeof(float));
  CHECK(out2 != NULL);
  if (one && two && out2) {
    tw_attention_args x = args_of(&a, a.out), y = args_of(&a, out2);
    CHECK(one->iface->attention(one, &x) == TW_OK);
    CHECK(two->iface->attention(two, &y) == TW_OK);
    double e = max_err(&a, a.out, a.ld);
    CHECK_MSG(e < 2e-6, "device: max err %.3g", e);
    CHECK(memcmp(a.out, out2, a.T * a.ld * sizeof(float)) == 0);
    /* errors: NULL pointers, a head too large, strides too small */
    x.q = NULL;
    CHECK(one->iface->attention(one, &x) == TW_EINVAL && one->err.msg[0]);
    CHECK(one->iface->attention(one, NULL) == TW_EINVAL);
    x = args_of(&a, a.out);
    x.d = TW_ATTN_MAX_D + 8, x.n_head = 1;
    CHECK(one->iface->attention(one, &x) == TW_EUNSUPPORTED);
    x = args_of(&a, a.out);
    x.ldk = a.H * a.d - 1;
    CHECK(one->iface->attention(one, &x) == TW_EINVAL);
  }
  free(out2);
  case_free(&a);
  tw_device_destroy(one);
  tw_device_destroy(two);
  /* switched off: declines, so the caller runs the products */
  tw_device *off = make(NULL, "attention=planned");
  CHECK(off != NULL);
  CHECK(make(NULL, "attention=maybe") == NULL);
  if (off) {
    CHECK(case_make(&a, 20, 1, 8, 0, 1.0f, 9) == 0);
    tw_attention_args x = args_of(&a, a.out);
    CHECK(off->iface->attention(off, &x) == TW_EUNSUPPORTED);
    case_free(&a);
  }
  tw_device_destroy(off);
}

/* The engine: cpu runs it and counts it; emu has none and declines. */
static void test_engine(void) {
  static const char *const devices[2] = {"cpu", "emu"};
  for (int i = 0; i < 2; i++) {
    tw_test_stack st;
    CHECK(tw_test_stack_open(&st, devices[i], 2) == TW_OK);
    tw_stream *ctx = st.s;
    if (!ctx) continue;
    attn_case a;
    CHECK(case_make(&a, 50, 2, 16, 0, 1.0f, 11) == 0);
    tw_gemm_stats s0, s1;
    tw_stream_stats(ctx, &s0);
    int rc = tw_attention(ctx, a.T, a.H, a.d, a.scale, a.q, a.k, a.v, a.ld, a.out, a.ld);
    tw_stream_stats(ctx, &s1);
    if (i == 0) {
      CHECK(rc == TW_OK && max_err(&a, a.out, a.ld) < 2e-6);
      CHECK(s1.calls == s0.calls + 1);
      CHECK(fabs(s1.useful_flops - s0.useful_flops - 4.0 * 50 * 50 * 16 * 2) < 0.5);
    } else {
      CHECK(rc == TW_EUNSUPPORTED && s1.calls == s0.calls);
    }
    case_free(&a);
    tw_test_stack_close(&st);
  }
  CHECK(tw_attention(NULL, 1, 1, 1, 1.0f, NULL, NULL, NULL, 1, NULL, 1) == TW_EINVAL);
}

int main(void) {
  tw_threadpool *pool = NULL;
  CHECK(tw_threadpool_create(2, &pool) == TW_OK);
  test_kernels();
  test_device(pool);
  test_engine();
  tw_threadpool_destroy(pool);
  return tw_test_finish("test_cpu_attention");
}

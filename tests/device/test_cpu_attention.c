/* Fused attention on the cpu device against an fp64 reference written the
 * textbook way (the whole score row, its max, exps, normalisation, then
 * P.V): each block kernel directly (the bf16 ones, VDPBF16PS and AMX,
 * against the reference of the bf16-rounded Q, K and V), the device's threaded dispatcher with row
 * strides wider than the heads, bitwise equality across thread counts,
 * large scores (the running max must keep the exps finite), which kernel
 * the caller's precision and the calibration choose, the engine's
 * tw_attention (cpu takes it, emu declines) and the error paths. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
      /* keys outer (rows of V in order), each output's sum still over s */
      double *o = out + t * H * d + h * d;
      for (size_t c = 0; c < d; c++) o[c] = 0;
      for (size_t s = 0; s < T; s++) {
        const double w = p[s] / sum;
        for (size_t c = 0; c < d; c++) o[c] += w * v[s * ld + h * d + c];
      }
    }
  free(p);
}

typedef struct attn_case {
  size_t T, H, d, ld;
  float scale;
  float *q, *k, *v, *out;
  double *ref;  /* of q, k, v */
  double *refb; /* of q, k, v rounded to bf16 (RNE) */
} attn_case;

/* x rounded to bf16, RNE (the library's converter; the kernel's VCVTNEPS2BF16
 * rounds the same way except that it flushes subnormals, which the cases do
 * not have). */
static float *rounded_copy(const float *x, size_t n) {
  float *r = malloc(n * sizeof *r);
  if (r)
    for (size_t i = 0; i < n; i++) r[i] = tw_round_bf16(x[i]);
  return r;
}

/* CASE_GROW: key j scaled by 1/4 + 2 j / T, so that later keys tend to
 * score higher and the running max keeps growing along the keys (every
 * tile rescales what the earlier ones summed).  CASE_BF16: refb only (ref
 * left unset), for the long cases of the bf16 kernels. */
enum { CASE_GROW = 1, CASE_BF16 = 2 };
static int case_make_grow(attn_case *a, size_t T, size_t H, size_t d, size_t pad, float qk_range,
                          unsigned long seed, int flags) {
  const int grow = flags & CASE_GROW;
  memset(a, 0, sizeof *a);
  a->T = T, a->H = H, a->d = d, a->ld = H * d + pad;
  a->scale = 1.0f / sqrtf((float)d);
  a->q = malloc(T * a->ld * sizeof(float));
  a->k = malloc(T * a->ld * sizeof(float));
  a->v = malloc(T * a->ld * sizeof(float));
  a->out = calloc(T * a->ld, sizeof(float));
  a->ref = malloc(T * H * d * sizeof(double));
  a->refb = malloc(T * H * d * sizeof(double));
  if (!a->q || !a->k || !a->v || !a->out || !a->ref || !a->refb) return -1;
  tw_rng rng = {seed};
  tw_fill_uniform(&rng, a->q, T * a->ld, -qk_range, qk_range);
  tw_fill_uniform(&rng, a->k, T * a->ld, -qk_range, qk_range);
  tw_fill_uniform(&rng, a->v, T * a->ld, -1, 1);
  for (size_t j = 0; grow && j < T; j++)
    for (size_t c = 0; c < a->ld; c++) a->k[j * a->ld + c] *= 0.25f + 2.0f * (float)j / (float)T;
  if (!(flags & CASE_BF16)) reference(T, H, d, a->scale, a->q, a->k, a->v, a->ld, a->ref);
  float *qb = rounded_copy(a->q, T * a->ld), *kb = rounded_copy(a->k, T * a->ld);
  float *vb = rounded_copy(a->v, T * a->ld);
  int rc = qb && kb && vb ? 0 : -1;
  if (!rc) reference(T, H, d, a->scale, qb, kb, vb, a->ld, a->refb);
  free(qb), free(kb), free(vb);
  return rc;
}

static int case_make(attn_case *a, size_t T, size_t H, size_t d, size_t pad, float qk_range,
                     unsigned long seed) {
  return case_make_grow(a, T, H, d, pad, qk_range, seed, 0);
}

static void case_free(attn_case *a) {
  free(a->q), free(a->k), free(a->v), free(a->out), free(a->ref), free(a->refb);
}

/* Max |out - ref| over the heads' columns (V is in [-1, 1]). */
static double max_err_to(const attn_case *a, const float *out, size_t ldo, const double *ref) {
  double worst = 0;
  for (size_t t = 0; t < a->T; t++)
    for (size_t j = 0; j < a->H * a->d; j++) {
      double e = fabs(out[t * ldo + j] - ref[t * a->H * a->d + j]);
      if (!(e <= worst)) worst = e; /* NaN counts as worst */
    }
  return worst;
}

static double max_err(const attn_case *a, const float *out, size_t ldo) {
  return max_err_to(a, out, ldo, a->ref);
}

/* The bf16 kernel's bound against refb (the reference of the rounded Q, K,
 * V), with V in [-1, 1].  What remains unrounded in refb is P: the kernel
 * rounds each softmax numerator p_j to bf16 (RNE, 8-bit significand:
 * relative error <= 2^-8) and divides by the sum of the unrounded ones, so
 * the output moves by sum_j (p_j / l) delta_j v_j, at most 2^-8 max |v| =
 * 2^-8 whatever the signs.  The rest is fp32 arithmetic as in the fp32
 * kernels: scores (d-term sums of exact bf16 products, times scale log2(e))
 * whose rounding enters the exponent, up to ~1e-5 for the big scores
 * (< 2e-6 otherwise), the exp polynomial (2e-7 relative) and the T-term
 * fp32 sums of P.V.  So 2^-8 + 5e-5.  Measured: up to ~1.3e-3 for the big
 * (peaked) scores, where one or two keys carry the row, ~2e-4 .. 7e-4
 * otherwise; a wrong pairing, a lost tile or an unpadded odd key gives
 * errors of order 0.1. */
#define BF16_TOL (1.0 / 256 + 5e-5)

/* Columns past the heads (the row padding) must be left as they were (0). */
static int pad_untouched(const attn_case *a, const float *out) {
  for (size_t t = 0; t < a->T; t++)
    for (size_t j = a->H * a->d; j < a->ld; j++)
      if (out[t * a->ld + j] != 0.0f) return 0;
  return 1;
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

/* The bf16 kernel as the device runs it: each head's K and V packed, then
 * every query block.  Returns -1 when the packing buffer cannot be had. */
static int run_kernel_bf16(attn_case *a) {
  size_t words = tw_attn_bf16_pack_words(a->T, a->d);
  uint32_t *buf = malloc(words * sizeof *buf);
  if (!buf) return -1;
  for (size_t h = 0; h < a->H; h++) {
    size_t col = h * a->d;
    tw_attn_bf16_pack(a->T, a->d, a->k + col, a->ld, a->v + col, a->ld, buf,
                      buf + a->T * (a->d / 2));
    for (size_t i0 = 0; i0 < a->T; i0 += TW_ATTN_BF16_BQ) {
      size_t nq = a->T - i0 < TW_ATTN_BF16_BQ ? a->T - i0 : TW_ATTN_BF16_BQ;
      tw_attn_block_avx512bf16(nq, a->T, a->d, a->scale, a->q + i0 * a->ld + col, a->ld, buf,
                               buf + a->T * (a->d / 2), a->out + i0 * a->ld + col, a->ld);
    }
  }
  free(buf);
  return 0;
}

/* The AMX kernel as the device runs it (each head packed, then every
 * query block), or, with nq > 0, one block of nq queries from query 0 of
 * each head.  -1 when the packing buffer cannot be had. */
static int run_kernel_amx(attn_case *a, size_t nq) {
  const size_t words = tw_attn_amx_pack_words(a->T, a->d), voff = tw_attn_amx_k_words(a->T, a->d);
  uint32_t *buf = malloc(words * sizeof *buf);
  /* the block's work area, filled with NaNs: nothing may be read before
   * it is written */
  void *work = aligned_alloc(64, TW_ATTN_AMX_WORK_BYTES);
  if (!buf || !work) {
    free(buf), free(work);
    return -1;
  }
  memset(work, 0xff, TW_ATTN_AMX_WORK_BYTES);
  for (size_t h = 0; h < a->H; h++) {
    size_t col = h * a->d;
    tw_attn_amx_pack(a->T, a->d, a->k + col, a->ld, a->v + col, a->ld, buf, buf + voff);
    for (size_t i0 = 0; i0 < (nq ? 1 : a->T); i0 += TW_ATTN_AMX_BQ) {
      size_t n = nq ? nq : a->T - i0 < TW_ATTN_AMX_BQ ? a->T - i0 : TW_ATTN_AMX_BQ;
      tw_attn_block_amx(n, a->T, a->d, a->scale, a->q + i0 * a->ld + col, a->ld, buf, buf + voff,
                        a->out + i0 * a->ld + col, a->ld, work);
    }
  }
  tw_amx_release();
  free(buf), free(work);
  return 0;
}

static int has_set(const char *isa) {
  tw_cpu_kernels ks;
  return tw_cpu_kernels_select(isa, &ks) == 0;
}

/* Max error of the first nq rows against refb, and whether the rows past
 * them were left as they were (0). */
static double block_err(const attn_case *a, size_t nq, int *untouched) {
  double worst = 0;
  *untouched = 1;
  for (size_t t = 0; t < a->T; t++)
    for (size_t j = 0; j < a->ld; j++) {
      float o = a->out[t * a->ld + j];
      if (t >= nq || j >= a->H * a->d) {
        if (o != 0.0f) *untouched = 0;
        continue;
      }
      double e = fabs(o - a->refb[t * a->H * a->d + j]);
      if (!(e <= worst)) worst = e;
    }
  return worst;
}

/* The AMX kernel against the reference of the bf16-rounded inputs, bound
 * BF16_TOL (the same reasoning as the VDPBF16PS kernel's: the same
 * roundings, only the order of the fp32 sums differs).  T around the
 * 16-key groups and the 32-key steps of the products (1, 2, 15, 16, 17,
 * 33), within one key tile (100) and the encoder's 1500 (a partial last
 * tile); every nq from 1 to the block size; d 64 (every Whisper model)
 * and the other multiples of 16 (16 and 48: half a 32-feature step;
 * 128: two groups of output tiles); scores of order 1, large, and large
 * and growing along the keys (the rescaling). */
static void test_kernel_amx(void) {
  static const size_t Ts[] = {1, 2, 15, 16, 17, 33, 100, 1500};
  static const size_t ds[] = {16, 32, 48, 80, 128};
  if (!has_set("amx")) {
    printf("  note: AMX is not usable here (CPU, OS or permission): the AMX attention kernel "
           "is not run\n");
    return;
  }
  double worst = 0;
  for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++)
    for (size_t di = 0; di <= sizeof ds / sizeof ds[0]; di++) {
      /* d 64 at every T; the others at a few */
      const size_t T = Ts[ti], d = di == 0 ? 64 : ds[di - 1];
      if (d != 64 && T != 17 && T != 100 && !(T == 1500 && d == 128)) continue;
      for (int kind = 0; kind < 3; kind++) { /* order 1, big, big and growing */
        if (d == 128 && T == 1500 && kind < 2) continue;
        attn_case a;
        const size_t H = T == 1500 ? 1 : 2, pad = ti % 3;
        int rc = case_make_grow(&a, T, H, d, pad, kind ? 4.0f : 1.0f, 500 + 10 * ti + di,
                                CASE_BF16 | (kind == 2 ? CASE_GROW : 0));
        CHECK(rc == 0);
        if (!rc) rc = run_kernel_amx(&a, 0);
        CHECK(rc == 0);
        if (!rc) {
          double e = max_err_to(&a, a.out, a.ld, a.refb);
          if (e > worst) worst = e;
          CHECK_MSG(e < BF16_TOL, "amx T %zu H %zu d %zu kind %d: max err %.3g", T, H, d, kind,
                    e);
          CHECK_MSG(pad_untouched(&a, a.out), "amx T %zu d %zu: wrote past the heads", T, d);
        }
        /* one block of every size from query 0 */
        for (size_t nq = 1; !rc && nq <= TW_ATTN_AMX_BQ && nq <= T; nq++) {
          memset(a.out, 0, T * a.ld * sizeof(float));
          rc = run_kernel_amx(&a, nq);
          CHECK(rc == 0);
          int untouched = 0;
          double e = block_err(&a, nq, &untouched);
          if (e > worst) worst = e;
          CHECK_MSG(e < BF16_TOL && untouched, "amx T %zu d %zu kind %d nq %zu: max err %.3g, "
                    "rows past nq %s", T, d, kind, nq, e, untouched ? "untouched" : "written");
        }
        case_free(&a);
      }
    }
  printf("  amx kernel: max err %.2e to the rounded inputs' reference (bound %.2e)\n", worst,
         BF16_TOL);
}

/* T not a multiple of the key tile (odd, one key past a tile), fewer
 * queries than a block (T < 32), T = 1, d = 8 .. 128 with d % 32 in {0, 8,
 * 16, 24} (the partial 16- and 32-feature groups of the conversions), row
 * padding; each with scores of order 1 and up to ~d * 16 / sqrt(d). */
static void test_kernel_bf16(void) {
  static const size_t shapes[][4] = {{77, 3, 64, 0},  {300, 2, 64, 5}, {257, 1, 64, 1},
                                     {129, 2, 24, 3}, {45, 2, 40, 3},  {33, 1, 128, 0},
                                     {20, 1, 72, 2},  {1, 1, 8, 0},    {2, 2, 16, 1},
                                     {31, 1, 56, 0}};
  if (!has_set("avx512bf16")) {
    printf("  note: this CPU lacks AVX512-BF16: the bf16 attention kernel is not run\n");
    return;
  }
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int big = 0; big < 2; big++) {
      attn_case a;
      int rc = case_make(&a, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3],
                         big ? 4.0f : 1.0f, 300 + s);
      CHECK(rc == 0);
      if (!rc) rc = run_kernel_bf16(&a);
      CHECK(rc == 0);
      if (!rc) {
        double e = max_err_to(&a, a.out, a.ld, a.refb), e32 = max_err(&a, a.out, a.ld);
        printf("  bf16 kernel T %3zu H %zu d %3zu big %d: max err %.2e to the rounded "
               "inputs' reference, %.2e to the fp32 inputs'\n", a.T, a.H, a.d, big, e, e32);
        CHECK_MSG(e < BF16_TOL, "bf16 T %zu H %zu d %zu big %d: max err %.3g", a.T, a.H, a.d,
                  big, e);
        CHECK_MSG(pad_untouched(&a, a.out), "bf16 T %zu d %zu: wrote past the heads", a.T, a.d);
      }
      case_free(&a);
    }
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

/* Calibration figures for the hook: the dot product twice the FMA rate
 * (AMD Zen 4/5) or a fraction of it (as on the Intel Xeon where VDPBF16PS
 * issues at a quarter of the FMA rate); dp_fast 1 has AMX slower than
 * VDPBF16PS (so avx512bf16 is chosen), 2 four times faster (amx chosen
 * where the process may use it). */
static double fake_gflops(const char *isa, int mode, int cls, void *user) {
  const int dp_fast = *(const int *)user;
  double family = !strcmp(isa, "generic") ? 0.05 : !strcmp(isa, "avx2") ? 0.5 : 1.0;
  if (mode == TW_CPU_MODE_DP) {
    if (cls == TW_CPU_CLASS_GEMV) return 0;
    if (!strcmp(isa, "amx")) return dp_fast == 2 ? 1600 : dp_fast ? 300 : 60;
    return family * (dp_fast ? 400 : 60);
  }
  return family * 200;
}

/* Which kernel a call takes: bf16 only when the caller allows it and the
 * calibration chose the dot product for large products (on a CPU with
 * AVX512-BF16), AMX when the set chosen is amx; the bf16 paths' result is
 * the kernel's, bit for bit, for any thread count; otherwise the call is
 * the fp32 one, bit for bit. */
static void test_device_bf16(tw_threadpool *pool) {
  char dir[] = "/tmp/tw_attn_calib_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char opts[128];
  snprintf(opts, sizeof opts, "cache_dir=%s,calibrate=1", dir);
  const char *forced = getenv("TW_CPU_KERNEL");
  char saved[32] = "";
  if (forced) snprintf(saved, sizeof saved, "%s", forced);
  unsetenv("TW_CPU_KERNEL");
  static int dp_fast;
  tw_cpu_calib_set_hook(fake_gflops, &dp_fast);
  attn_case a;
  CHECK(case_make(&a, 257, 4, 64, 7, 1.0f, 21) == 0);
  const size_t bytes = a.T * a.ld * sizeof(float);
  float *direct = calloc(a.T * a.ld, sizeof(float)), *fp32 = calloc(a.T * a.ld, sizeof(float));
  float *two = calloc(a.T * a.ld, sizeof(float)), *direct_amx = calloc(a.T * a.ld, sizeof(float));
  CHECK(direct && fp32 && two && direct_amx);
  int have = has_set("avx512bf16"), have_amx = has_set("amx");
  if (have && direct) {
    CHECK(run_kernel_bf16(&a) == 0);
    memcpy(direct, a.out, bytes);
  }
  if (have_amx && direct_amx) {
    memset(a.out, 0, bytes);
    CHECK(run_kernel_amx(&a, 0) == 0);
    memcpy(direct_amx, a.out, bytes);
  }
  for (dp_fast = 0; dp_fast < 3 && direct && fp32 && two && direct_amx; dp_fast++) {
    tw_device *one = make(NULL, opts), *both = make(pool, opts);
    CHECK(one && both);
    if (!one || !both) {
      tw_device_destroy(one), tw_device_destroy(both);
      continue;
    }
    const int want_amx = have_amx && dp_fast == 2, want = have && dp_fast && !want_amx;
    const tw_cpu_impl *impl = one->impl;
    CHECK_MSG((impl->choice.mode[TW_CPU_CLASS_LARGE] == TW_CPU_MODE_DP) == (want || want_amx),
              "dp_fast %d: large mode %s", dp_fast,
              tw_cpu_mode_name(impl->choice.mode[TW_CPU_CLASS_LARGE]));
    CHECK_MSG(!want_amx || !strcmp(impl->ks.isa, "amx"), "dp_fast %d: set %s", dp_fast,
              impl->ks.isa);
    tw_attention_args x = args_of(&a, fp32), y = args_of(&a, a.out), z = args_of(&a, two);
    CHECK(tw_cpu_attention_bf16(impl, &x) == 0 && tw_cpu_attention_amx(impl, &x) == 0);
    CHECK(one->iface->attention(one, &x) == TW_OK);
    CHECK_MSG(max_err(&a, fp32, a.ld) < 2e-6, "dp_fast %d: fp32 call: max err %.3g", dp_fast,
              max_err(&a, fp32, a.ld));
    y.allow_bf16 = z.allow_bf16 = 1;
    CHECK_MSG(tw_cpu_attention_bf16(impl, &y) == want, "dp_fast %d: bf16 kernel not %s",
              dp_fast, want ? "taken" : "declined");
    CHECK_MSG(tw_cpu_attention_amx(impl, &y) == want_amx, "dp_fast %d: amx kernel not %s",
              dp_fast, want_amx ? "taken" : "declined");
    memset(a.out, 0, bytes);
    CHECK(one->iface->attention(one, &y) == TW_OK);
    CHECK(both->iface->attention(both, &z) == TW_OK);
    CHECK_MSG(memcmp(a.out, two, bytes) == 0, "dp_fast %d: 1 and 2 threads differ", dp_fast);
    CHECK_MSG(memcmp(a.out, want_amx ? direct_amx : want ? direct : fp32, bytes) == 0,
              "dp_fast %d: allow_bf16 is not the %s kernel's result", dp_fast,
              want_amx ? "amx" : want ? "bf16" : "fp32");
    if (want || want_amx) {
      double e = max_err_to(&a, a.out, a.ld, a.refb);
      CHECK_MSG(e < BF16_TOL, "device %s: max err %.3g", want_amx ? "amx" : "bf16", e);
      /* a head size the set's bf16 kernel does not take runs in fp32 (on
       * amx, d % 16 == 8 too: VDPBF16PS is the slower there) */
      attn_case b;
      CHECK(case_make(&b, 40, 2, want_amx ? 24 : 12, 0, 1.0f, 23) == 0);
      tw_attention_args w = args_of(&b, b.out);
      w.allow_bf16 = 1;
      CHECK(tw_cpu_attention_bf16(impl, &w) == 0 && tw_cpu_attention_amx(impl, &w) == 0);
      CHECK(one->iface->attention(one, &w) == TW_OK && max_err(&b, b.out, b.ld) < 2e-6);
      case_free(&b);
    }
    if (want_amx) {
      /* the encoder's length through the device: 1500 positions, 2 heads
       * of 64, scores large and growing; 1 and 2 threads bit for bit */
      attn_case c;
      CHECK(case_make_grow(&c, 1500, 2, 64, 0, 4.0f, 31, CASE_GROW | CASE_BF16) == 0);
      float *c2 = calloc(c.T * c.ld, sizeof(float));
      CHECK(c2 != NULL);
      if (c2) {
        tw_attention_args u = args_of(&c, c.out), v = args_of(&c, c2);
        u.allow_bf16 = v.allow_bf16 = 1;
        CHECK(one->iface->attention(one, &u) == TW_OK);
        CHECK(both->iface->attention(both, &v) == TW_OK);
        CHECK_MSG(memcmp(c.out, c2, c.T * c.ld * sizeof(float)) == 0,
                  "amx T 1500: 1 and 2 threads differ");
        double e = max_err_to(&c, c.out, c.ld, c.refb);
        printf("  amx through the device, T 1500, 2 heads of 64: max err %.2e\n", e);
        CHECK_MSG(e < BF16_TOL, "device amx T 1500: max err %.3g", e);
      }
      free(c2);
      case_free(&c);
    }
    tw_device_destroy(one);
    tw_device_destroy(both);
  }
  if (!have) printf("  note: this CPU lacks AVX512-BF16: only the fp32 choice is checked\n");
  if (!have_amx)
    printf("  note: AMX is not usable here: the device's AMX attention path is not checked\n");
  free(direct), free(fp32), free(two), free(direct_amx);
  case_free(&a);
  tw_cpu_calib_set_hook(NULL, NULL);
  if (saved[0]) setenv("TW_CPU_KERNEL", saved, 1);
  /* the cache file the calibrations wrote, then the folder */
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && (e = readdir(dp));) {
    char path[sizeof dir + 260];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    CHECK(unlink(path) == 0);
  }
  if (dp) closedir(dp);
  CHECK(rmdir(dir) == 0);
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
    int rc = tw_attention(ctx, a.T, a.H, a.d, a.scale, a.q, a.k, a.v, a.ld, a.out, a.ld, 0);
    tw_stream_stats(ctx, &s1);
    if (i == 0) {
      CHECK(rc == TW_OK && max_err(&a, a.out, a.ld) < 2e-6);
      CHECK(s1.calls == s0.calls + 1);
      CHECK(fabs(s1.useful_flops - s0.useful_flops - 4.0 * 50 * 50 * 16 * 2) < 0.5);
      /* bf16 allowed: the bf16 kernel where the device's calibration says */
      tw_attention_args x = args_of(&a, a.out);
      x.allow_bf16 = 1;
      const tw_cpu_impl *impl = tw_stream_device(ctx)->impl;
      int bf16 = tw_cpu_attention_bf16(impl, &x) || tw_cpu_attention_amx(impl, &x);
      rc = tw_attention(ctx, a.T, a.H, a.d, a.scale, a.q, a.k, a.v, a.ld, a.out, a.ld, 1);
      double e = bf16 ? max_err_to(&a, a.out, a.ld, a.refb) : max_err(&a, a.out, a.ld);
      CHECK_MSG(rc == TW_OK && e < (bf16 ? BF16_TOL : 2e-6), "engine, bf16 %d: max err %.3g",
                bf16, e);
    } else {
      CHECK(rc == TW_EUNSUPPORTED && s1.calls == s0.calls);
    }
    case_free(&a);
    tw_test_stack_close(&st);
  }
  CHECK(tw_attention(NULL, 1, 1, 1, 1.0f, NULL, NULL, NULL, 1, NULL, 1, 0) == TW_EINVAL);
}

int main(void) {
  tw_threadpool *pool = NULL;
  CHECK(tw_threadpool_create(2, &pool) == TW_OK);
  test_kernels();
  test_kernel_bf16();
  test_kernel_amx();
  test_device(pool);
  test_device_bf16(pool);
  test_engine();
  tw_threadpool_destroy(pool);
  return tw_test_finish("test_cpu_attention");
}

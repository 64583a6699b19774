/* The decoder's fused attention on the cpu device against an fp64
 * reference written the textbook way (score row, max, exps, normalise,
 * P.V): the step kernels directly (portable and AVX-512, where the CPU has
 * it) over fp32 and bf16 caches, the softmax row kernels, the device's step
 * dispatcher over several sequences with their own caches, the cross-attention over prepared K^T /
 * V weights (fp32 and bf16 storage), bitwise equality across thread
 * counts, and what is declined or rejected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/cpu/cpu.h"
#include "device/device.h"
#include "gemm/attention.h"
#include "kernels/attention.h"
#include "tw_test.h"

/* out[c] = sum_j softmax_j(scale q.k_j) v_j[c] in fp64; k row j at k + j ldk,
 * value j feature c at v[j * vs + c * cs] (vs, cs: strides of either layout). */
static void ref_row(size_t n, size_t d, double scale, const float *q, const float *k, size_t ldk,
                    const float *v, size_t vs, size_t cs, double *out) {
  double *p = malloc(n * sizeof *p), mx = -INFINITY, sum = 0;
  if (!p) return;
  for (size_t j = 0; j < n; j++) {
    double dot = 0;
    for (size_t c = 0; c < d; c++) dot += (double)q[c] * k[j * ldk + c];
    p[j] = dot * scale;
    if (p[j] > mx) mx = p[j];
  }
  for (size_t j = 0; j < n; j++) sum += p[j] = exp(p[j] - mx);
  for (size_t c = 0; c < d; c++) {
    double o = 0;
    for (size_t j = 0; j < n; j++) o += p[j] / sum * v[j * vs + c * cs];
    out[c] = o;
  }
  free(p);
}

static double max_rel(const float *x, const double *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num = fmax(num, fabs(x[i] - ref[i]));
    den = fmax(den, fabs(ref[i]));
  }
  return den > 0 ? num / den : num;
}

static int has_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

/* One head's step: key counts across the 16-lane tails, d not a multiple
 * of 16, large scores (the max must be subtracted), both kernels. */
static void test_step_kernels(void) {
  static const size_t keys[] = {1, 7, 16, 33, 224, 448};
  static const size_t dims[] = {8, 24, 64};
  tw_rng r = {7};
  int n_kernels = has_avx512() ? 2 : 1;
  if (n_kernels == 1) printf("  step kernel avx512: not run, this CPU has no AVX-512 F\n");
  for (size_t ki = 0; ki < sizeof keys / sizeof *keys; ki++)
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++)
      for (int big = 0; big < 2; big++) {
        const size_t n = keys[ki], d = dims[di], ldk = d + 5, ldvt = n + 3;
        float *q = malloc(d * sizeof *q), *k = malloc(n * ldk * sizeof *k);
        float *vt = malloc(d * ldvt * sizeof *vt), *s = malloc(n * sizeof *s);
        float out[64];
        double ref[64];
        tw_fill_uniform(&r, q, d, big ? -30.f : -1.f, big ? 30.f : 1.f);
        tw_fill_uniform(&r, k, n * ldk, -1.f, 1.f);
        tw_fill_uniform(&r, vt, d * ldvt, -1.f, 1.f);
        const float scale = 1.0f / sqrtf((float)d);
        ref_row(n, d, scale, q, k, ldk, vt, 1, ldvt, ref);
        for (int kk = 0; kk < n_kernels; kk++) {
          tw_attn_step_fn fn = kk ? tw_attn_step_avx512 : tw_attn_step_generic;
          fn(n, d, scale, q, k, ldk, vt, ldvt, s, out);
          double e = max_rel(out, ref, d);
          /* fp32 sums of <= 448 terms of size <= 1 and exps with relative
           * error ~2e-7: 1e-5 of the largest output leaves a margin of ~10x */
          CHECK_MSG(e < 1e-5, "%s keys %zu d %zu big %d: %.3e", kk ? "avx512" : "generic", n, d,
                    big, e);
        }
        /* bf16 caches: the reference from the same values rounded to bf16 */
        uint16_t *kb = malloc(n * ldk * sizeof *kb), *vb = malloc(d * ldvt * sizeof *vb);
        for (size_t i = 0; i < n * ldk; i++) kb[i] = tw_fp32_to_bf16(k[i]), k[i] = tw_round_bf16(k[i]);
        for (size_t i = 0; i < d * ldvt; i++)
          vb[i] = tw_fp32_to_bf16(vt[i]), vt[i] = tw_round_bf16(vt[i]);
        ref_row(n, d, scale, q, k, ldk, vt, 1, ldvt, ref);
        for (int kk = 0; kk < n_kernels; kk++) {
          tw_attn_step_bf16_fn fn = kk ? tw_attn_step_bf16_avx512 : tw_attn_step_bf16_generic;
          fn(n, d, scale, q, kb, ldk, vb, ldvt, s, out);
          double e = max_rel(out, ref, d);
          CHECK_MSG(e < 1e-5, "bf16 %s keys %zu d %zu big %d: %.3e", kk ? "avx512" : "generic", n,
                    d, big, e);
        }
        free(q), free(k), free(vt), free(s), free(kb), free(vb);
      }
}

static void test_softmax_rows(void) {
  tw_rng r = {8};
  static const size_t lens[] = {1, 15, 17, 1500};
  for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
    const size_t n = lens[li];
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref), mx = -INFINITY, sum = 0;
    tw_fill_uniform(&r, x, n, -40.f, 40.f);
    for (size_t j = 0; j < n; j++) mx = fmax(mx, 0.125 * x[j]);
    for (size_t j = 0; j < n; j++) sum += ref[j] = exp(0.125 * x[j] - mx);
    for (size_t j = 0; j < n; j++) ref[j] /= sum;
    for (int kk = 0; kk < (has_avx512() ? 2 : 1); kk++) {
      memcpy(y, x, n * sizeof *y);
      (kk ? tw_softmax_row_avx512 : tw_softmax_row_generic)(n, 0.125f, y);
      double e = 0, total = 0;
      for (size_t j = 0; j < n; j++) {
        e = fmax(e, fabs(y[j] - ref[j]) / fmax(ref[j], 1e-30));
        total += y[j];
      }
      /* the kept probabilities (>= 1e-30) to fp32 precision; they sum to 1 */
      CHECK_MSG(e < 2e-5, "softmax %s n %zu: rel %.3e", kk ? "avx512" : "generic", n,
                e);
      CHECK_MSG(fabs(total - 1.0) < 1e-5, "softmax n %zu sums to %.8f", n, total);
    }
    free(x), free(y), free(ref);
  }
}


/* Three sequences with their own caches (fp32, then bf16), through the
 * engine, at 1 and 2 threads (bitwise equal), against the reference of the
 * cached values; planned devices decline. */
static void test_step_engine(void) {
  enum { S = 3, H = 4, D = 32, N = 57, CTX = 64, W = H * D };
  tw_rng r = {9};
  float *q = malloc(S * 3 * W * sizeof *q), *kc = malloc(S * CTX * W * sizeof *kc);
  float *vt = malloc(S * W * CTX * sizeof *vt), out[2][S * W];
  uint16_t *kb = malloc(S * CTX * W * sizeof *kb), *vb = malloc(S * W * CTX * sizeof *vb);
  double ref[S * W];
  tw_fill_uniform(&r, q, S * 3 * W, -2.f, 2.f);
  tw_fill_uniform(&r, kc, S * CTX * W, -1.f, 1.f);
  tw_fill_uniform(&r, vt, S * W * CTX, -1.f, 1.f);
  const float scale = 1.0f / sqrtf((float)D);
  for (int bf16 = 0; bf16 < 2; bf16++) {
    if (bf16) /* the bf16 caches; the reference sees the rounded values */
      for (size_t i = 0; i < (size_t)S * CTX * W; i++) {
        kb[i] = tw_fp32_to_bf16(kc[i]), kc[i] = tw_round_bf16(kc[i]);
        vb[i] = tw_fp32_to_bf16(vt[i]), vt[i] = tw_round_bf16(vt[i]);
      }
    const void *k[S], *v[S];
    for (int s = 0; s < S; s++) {
      k[s] = bf16 ? (const void *)(kb + (size_t)s * CTX * W) : (const void *)(kc + (size_t)s * CTX * W);
      v[s] = bf16 ? (const void *)(vb + (size_t)s * W * CTX) : (const void *)(vt + (size_t)s * W * CTX);
    }
    for (int s = 0; s < S; s++)
      for (int h = 0; h < H; h++)
        ref_row(N, D, scale, q + s * 3 * W + h * D, kc + (size_t)s * CTX * W + h * D, W,
                vt + (size_t)s * W * CTX + (size_t)h * D * CTX, 1, CTX, ref + s * W + h * D);
    const tw_dtype kt = bf16 ? TW_DTYPE_BF16 : TW_DTYPE_F32;
    for (int t = 1; t <= 2; t++) {
      tw_stream *st = NULL;
      tw_device *dev = tw_test_open_device("cpu", t, &st);
      if (!dev) continue;
      int rc = tw_attention_step(st, S, H, D, N, scale, q, 3 * W, kt, k, W, v, CTX, out[t - 1], W);
      CHECK_MSG(rc == TW_OK, "step: %s", tw_stream_last_error(st));
      double e = max_rel(out[t - 1], ref, S * W);
      CHECK_MSG(e < 1e-5, "step engine %s %d threads: %.3e", bf16 ? "bf16" : "fp32", t, e);
      tw_gemm_stats tot;
      tw_stream_stats(st, &tot);
      CHECK(tot.calls == 1);
      /* bad strides and cache types are errors, not crashes */
      CHECK(tw_attention_step(st, S, H, D, N, scale, q, 3 * W, kt, k, W, v, N - 1, out[0], W) ==
            TW_EINVAL);
      CHECK(strstr(tw_stream_last_error(st), "stride") != NULL);
      CHECK(tw_attention_step(st, S, H, D, N, scale, q, 3 * W, TW_DTYPE_F16, k, W, v, CTX, out[0],
                              W) == TW_EINVAL);
      tw_stream_destroy(st);
      tw_device_destroy(dev);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
    tw_stream *st = NULL;
    tw_device *dev = tw_test_open_device("cpu:attention=planned", 1, &st);
    if (dev) {
      CHECK(tw_attention_step(st, S, H, D, N, scale, q, 3 * W, kt, k, W, v, CTX, out[0], W) ==
            TW_EUNSUPPORTED);
      tw_stream_destroy(st);
      tw_device_destroy(dev);
    }
    dev = tw_test_open_device("emu", 1, &st);
    if (dev) {
      CHECK(tw_attention_step(st, S, H, D, N, scale, q, 3 * W, kt, k, W, v, CTX, out[0], W) ==
            TW_EUNSUPPORTED);
      tw_stream_destroy(st);
      tw_device_destroy(dev);
    }
  }
  free(q), free(kc), free(vt), free(kb), free(vb);
}

/* m rows over T keys of per-head weights, fp32 storage (to 1e-5) and bf16
 * storage with bf16 rounding of q and P (to 8e-3: the reference rounds q,
 * K and V the same way, and the probabilities' rounding, relative 2^-9
 * each, bounds the rest at ~4e-3 of the largest output); 1 vs 2 threads
 * bitwise; more rows than the kernel takes are declined. */
static void test_cross(void) {
  enum { M = 5, H = 3, D = 24, T = 101, W = H * D };
  tw_rng r = {10};
  float *q = malloc(M * W * sizeof *q), *K = malloc(T * W * sizeof *K);
  float *V = malloc(T * W * sizeof *V), out[2][M * W];
  float qr[M * W], *Kr = malloc(T * W * sizeof *Kr), *Vr = malloc(T * W * sizeof *Vr);
  double ref[M * W];
  tw_fill_uniform(&r, q, M * W, -3.f, 3.f);
  tw_fill_uniform(&r, K, T * W, -1.f, 1.f);
  tw_fill_uniform(&r, V, T * W, -1.f, 1.f);
  const float scale = 1.0f / sqrtf((float)D);
  for (int bf16 = 0; bf16 < 2; bf16++) {
    for (size_t i = 0; i < M * W; i++) qr[i] = bf16 ? tw_round_bf16(q[i]) : q[i];
    for (size_t i = 0; i < T * W; i++) {
      Kr[i] = bf16 ? tw_round_bf16(K[i]) : K[i];
      Vr[i] = bf16 ? tw_round_bf16(V[i]) : V[i];
    }
    for (int i = 0; i < M; i++)
      for (int h = 0; h < H; h++)
        ref_row(T, D, scale, qr + i * W + h * D, Kr + h * D, W, Vr + h * D, W, 1,
                ref + i * W + h * D);
    for (int t = 1; t <= 2; t++) {
      tw_stream *st = NULL;
      tw_device *dev = tw_test_open_device("cpu", t, &st);
      if (!dev) continue;
      tw_weight *kt[H] = {0}, *v[H] = {0};
      int rc = TW_OK;
      for (int h = 0; h < H && !rc; h++) {
        tw_weight_desc dk = {.data = K + h * D, .dtype = TW_DTYPE_F32, .k = D, .n = T, .ld = W,
                             .transposed = 1, .storage = bf16 ? TW_DTYPE_BF16 : TW_DTYPE_F32};
        tw_weight_desc dv = {.data = V + h * D, .dtype = TW_DTYPE_F32, .k = T, .n = D, .ld = W,
                             .storage = dk.storage};
        rc = tw_weight_prepare(dev, &dk, &kt[h]);
        if (!rc) rc = tw_weight_prepare(dev, &dv, &v[h]);
      }
      CHECK_MSG(rc == TW_OK, "prepare: %s", tw_device_last_error(dev));
      if (!rc) {
        rc = tw_attention_cross(st, M, H, D, T, scale, q, W, (const tw_weight *const *)kt,
                                (const tw_weight *const *)v, out[t - 1], W, bf16);
        CHECK_MSG(rc == TW_OK, "cross: %s", tw_stream_last_error(st));
        double e = max_rel(out[t - 1], ref, M * W), bound = bf16 ? 8e-3 : 1e-5;
        CHECK_MSG(e < bound, "cross %s %d threads: %.3e", bf16 ? "bf16" : "fp32", t, e);
        if (t == 1 && !bf16) printf("  cross fp32: max rel %.3e\n", e);
        if (t == 1 && bf16) printf("  cross bf16: max rel %.3e (bound 8e-3)\n", e);
        /* 9 rows: more than the streaming kernels take; K^T for V: shapes differ */
        CHECK(tw_attention_cross(st, 9, H, D, T, scale, q, W, (const tw_weight *const *)kt,
                                 (const tw_weight *const *)v, out[0], W, bf16) == TW_EUNSUPPORTED);
        CHECK(tw_attention_cross(st, M, H, D, T, scale, q, W, (const tw_weight *const *)v,
                                 (const tw_weight *const *)kt, out[0], W, bf16) == TW_EUNSUPPORTED);
      }
      for (int h = 0; h < H; h++) tw_weight_destroy(kt[h]), tw_weight_destroy(v[h]);
      tw_stream_destroy(st);
      tw_device_destroy(dev);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
  }
  free(q), free(K), free(V), free(Kr), free(Vr);
}

int main(void) {
  test_step_kernels();
  test_softmax_rows();
  test_step_engine();
  test_cross();
  return tw_test_finish("test_cpu_attention_decode");
}

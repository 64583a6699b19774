/* The encoder's host-side ops against formulas evaluated in double, on a
 * two-thread pool and on none, in fp32 and bf16 output; the decoding
 * rules' exponential sums against libm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_test.h"
#include "kernels/elementwise.h"
#include "whisper/ops.h"

static double out_at(const void *y, tw_dtype yt, size_t i) {
  return yt == TW_DTYPE_BF16 ? tw_bf16_to_fp32(((const tw_bf16 *)y)[i]) : ((const float *)y)[i];
}

/* Relative error allowed on one output: fp32 arithmetic, or bf16 rounding. */
static double tol(tw_dtype yt) { return yt == TW_DTYPE_BF16 ? 1.0 / 256 : 2e-6; }

static void test_layernorm(tw_threadpool *pool, tw_dtype yt) {
  enum { R = 37, N = 384, LD = 400 };
  tw_rng r = {11};
  float *x = calloc(R * LD, sizeof *x), *w = malloc(N * sizeof *w), *b = malloc(N * sizeof *b);
  float *y = calloc(R * LD, sizeof *y);
  /* rows with a large common offset test the two-pass variance */
  for (int i = 0; i < R; i++) tw_fill_uniform(&r, x + i * LD, N, -3.0f + 50.0f * i, 3.0f + 50.0f * i);
  tw_fill_uniform(&r, w, N, 0.5f, 1.5f);
  tw_fill_uniform(&r, b, N, -0.5f, 0.5f);
  tw_op_layernorm(pool, R, N, x, LD, w, b, 1e-5f, y, yt, LD);
  double worst = 0;
  for (int i = 0; i < R; i++) {
    double mean = 0, var = 0;
    for (int j = 0; j < N; j++) mean += x[i * LD + j];
    mean /= N;
    for (int j = 0; j < N; j++) var += (x[i * LD + j] - mean) * (x[i * LD + j] - mean);
    var /= N;
    for (int j = 0; j < N; j++) {
      double want = (x[i * LD + j] - mean) / sqrt(var + 1e-5) * w[j] + b[j];
      double e = fabs(out_at(y, yt, (size_t)i * LD + j) - want) / (fabs(want) + 1e-2);
      if (e > worst) worst = e;
    }
  }
  printf("  layernorm %s: worst relative error %.2e\n", yt == TW_DTYPE_BF16 ? "bf16" : "fp32", worst);
  CHECK(worst <= 4 * tol(yt));
  free(x), free(w), free(b), free(y);
}

static void test_softmax(tw_threadpool *pool, tw_dtype yt) {
  enum { R = 9, N = 1500 };
  tw_rng r = {12};
  float *x = malloc(R * N * sizeof *x), *orig = malloc(R * N * sizeof *orig);
  float *y = malloc(R * N * sizeof *y);
  /* row i spans +-10^i: up to 1e8, where a naive exp overflows */
  for (int i = 0; i < R; i++) {
    float a = powf(10.0f, (float)i);
    tw_fill_uniform(&r, orig + i * N, N, -a, a);
  }
  orig[3 * N + 5] = 3e38f; /* one huge logit takes all the mass */
  memcpy(x, orig, R * N * sizeof *x);
  const float scale = 0.125f;
  float *scratch = malloc((size_t)tw_threadpool_size(pool) * N * sizeof *scratch);
  tw_op_softmax(pool, R, N, x, N, scale, y, yt, N, scratch);
  CHECK(memcmp(x, orig, R * N * sizeof *x) == 0); /* input untouched */
  free(scratch);
  double worst = 0, worst_sum = 0;
  for (int i = 0; i < R; i++) {
    double mx = -INFINITY, sum = 0, got_sum = 0;
    for (int j = 0; j < N; j++) mx = fmax(mx, (double)scale * orig[i * N + j]);
    for (int j = 0; j < N; j++) sum += exp((double)scale * orig[i * N + j] - mx);
    for (int j = 0; j < N; j++) {
      double want = exp((double)scale * orig[i * N + j] - mx) / sum;
      double got = out_at(y, yt, (size_t)i * N + j);
      CHECK(isfinite(got));
      double e = fabs(got - want) / (want + 1e-30);
      if (want > 1e-30 && e > worst) worst = e;
      got_sum += got;
    }
    worst_sum = fmax(worst_sum, fabs(got_sum - 1.0));
  }
  printf("  softmax %s: worst relative error %.2e, worst |sum - 1| %.2e\n",
         yt == TW_DTYPE_BF16 ? "bf16" : "fp32", worst, worst_sum);
  /* fp32: exp of an argument up to ~88 in magnitude carries ~|arg| ulp of error */
  CHECK(worst <= (yt == TW_DTYPE_BF16 ? 1.0 / 256 + 1e-4 : 1e-4));
  CHECK(worst_sum <= (yt == TW_DTYPE_BF16 ? 1e-2 : 1e-5));
  free(x), free(orig), free(y);
}

/* The GELU's erf is good to 1.5e-7 absolute (A&S 7.1.26), so the bound is
 * relative to the output plus 1e-7 |x| absolute: exact at fp32 working
 * precision, far from the tanh form's ~1e-3. */
static void test_gelu(tw_threadpool *pool, tw_dtype yt) {
  enum { R = 5, N = 4001 };
  float *x = malloc(R * N * sizeof *x), *y = malloc(R * N * sizeof *y);
  for (int i = 0; i < R * N; i++) x[i] = -12.0f + 24.0f * (float)i / (R * N - 1);
  tw_op_gelu(pool, R, N, x, N, y, yt, N);
  double worst = 0, worst_abs = 0;
  for (int i = 0; i < R * N; i++) {
    double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
    double d = fabs(out_at(y, yt, (size_t)i) - want);
    double ratio = d / (tol(yt) * fabs(want) + 1e-7 * fabs(x[i]) + 1e-30);
    if (ratio > worst) worst = ratio;
    if (d > worst_abs) worst_abs = d;
  }
  printf("  gelu %s: worst error / bound %.2f, worst abs error %.2e\n",
         yt == TW_DTYPE_BF16 ? "bf16" : "fp32", worst, worst_abs);
  CHECK(worst <= 1.0);
  if (yt == TW_DTYPE_F32) { /* in place */
    tw_op_gelu(pool, R, N, x, N, x, TW_DTYPE_F32, N);
    CHECK(memcmp(x, y, R * N * sizeof *x) == 0);
  }
  free(x), free(y);
}

/* im2col rows against a direct gather, for both conv layouts. */
static void test_im2col(tw_threadpool *pool) {
  enum { C = 5, TIN = 12 };
  float x[C * TIN];
  for (int i = 0; i < C * TIN; i++) x[i] = (float)(i + 1);
  for (int time_major = 0; time_major < 2; time_major++)
    for (size_t stride = 1; stride <= 2; stride++) {
      const size_t tout = TIN / stride, cs = time_major ? 1 : TIN, ts = time_major ? C : 1;
      float col[TIN * C * 3];
      tw_op_im2col_k3(pool, x, C, TIN, cs, ts, stride, tout, col, TW_DTYPE_F32);
      int bad = 0;
      for (size_t t = 0; t < tout; t++)
        for (size_t c = 0; c < C; c++)
          for (int k = 0; k < 3; k++) {
            long s = (long)(t * stride) + k - 1;
            float want = (s < 0 || s >= TIN) ? 0.0f : x[c * cs + (size_t)s * ts];
            bad += col[t * C * 3 + c * 3 + (size_t)k] != want;
          }
      CHECK_MSG(bad == 0, "im2col time_major %d stride %zu: %d wrong", time_major, stride, bad);
    }
}

static void test_transpose(tw_threadpool *pool) {
  enum { R = 70, C = 37, LDS = 40, LDD = 75 };
  float src[R * LDS], dst[C * LDD];
  tw_bf16 dst16[C * LDD];
  for (int i = 0; i < R * LDS; i++) src[i] = (float)i * 1.25f;
  tw_op_transpose(pool, R, C, src, LDS, dst, TW_DTYPE_F32, LDD);
  tw_op_transpose(pool, R, C, src, LDS, dst16, TW_DTYPE_BF16, LDD);
  int bad = 0;
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++) {
      bad += dst[j * LDD + i] != src[i * LDS + j];
      bad += dst16[j * LDD + i] != tw_fp32_to_bf16(src[i * LDS + j]);
    }
  CHECK_MSG(bad == 0, "transpose: %d wrong", bad);
}

static void test_add(tw_threadpool *pool) {
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {10, 20, 30, 40, 50, 60};
  tw_op_add(pool, 2, 2, x, 3, y, 3); /* touches columns 0 and 1 of both rows */
  const float want[6] = {11, 22, 3, 44, 55, 6};
  CHECK(memcmp(x, want, sizeof x) == 0);
}

/* The decoding rules' exponential sums against libm in double: logsumexp
 * (fp32 exps, each within ~2e-7 relative, summed in double: the log within
 * 5e-7 absolute) and the sampler's weights (double exps: each within 1e-14
 * relative of exp(), 0 exactly at -inf, the sum likewise), on rows of
 * 51,865 logits with -inf runs, one finite value, lengths around the
 * vector blocks, and temperatures 0.2 .. 1. */
static void test_exp_sums(void) {
  enum { N = 51865 };
  static float x[N];
  static double w[N];
  tw_rng r = {77};
  static const size_t lens[] = {1, 7, 8, 9, 17, 1000, N};
  static const double temps[] = {0.2, 0.6, 1.0};
  for (int trial = 0; trial < 3; trial++) {
    tw_fill_uniform(&r, x, N, -30.0f, 12.0f);
    for (size_t i = 0; i < N; i++)
      if ((i / 97) % 3 == (size_t)trial) x[i] = -INFINITY; /* runs of suppressed tokens */
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
      size_t n = lens[li];
      double mx = -INFINITY;
      for (size_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
      double lse = tw_op_logsumexp(x, n);
      if (mx == -INFINITY) {
        CHECK_MSG(lse == -INFINITY, "logsumexp of -inf only: %g", lse);
        CHECK(tw_op_exp_weights(x, n, 1.0, w) == 0.0);
        continue;
      }
      double s = 0;
      for (size_t i = 0; i < n; i++) s += exp((double)x[i] - mx);
      double want = mx + log(s);
      CHECK_MSG(fabs(lse - want) <= 5e-7, "logsumexp n %zu: %.9g, want %.9g", n, lse, want);
      for (size_t ti = 0; ti < sizeof temps / sizeof temps[0]; ti++) {
        double t = temps[ti], total = tw_op_exp_weights(x, n, t, w), sum = 0;
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
          double e = x[i] == -INFINITY ? 0.0 : exp(((double)x[i] - mx) / t);
          if (e < 1e-300 && w[i] < 1e-300) e = w[i]; /* below e^-708: not resolved */
          if (fabs(w[i] - e) > 1e-14 * e || (e == 0.0) != (w[i] == 0.0)) bad++;
          sum += e;
        }
        CHECK_MSG(bad == 0, "exp weights n %zu T %g: %d wrong", n, t, bad);
        CHECK_MSG(fabs(total - sum) <= 1e-13 * sum, "exp weights n %zu T %g: sum %.17g, want "
                  "%.17g", n, t, total, sum);
      }
    }
  }
  float one[3] = {-INFINITY, 4.5f, -INFINITY};
  CHECK(fabs(tw_op_logsumexp(one, 3) - 4.5) < 1e-7);
  CHECK(tw_op_exp_weights(one, 3, 0.7, w) == 1.0 && w[0] == 0.0 && w[1] == 1.0 && w[2] == 0.0);
}

/* Each GELU row body this CPU has (the portable one always, AVX-512 where
 * present) against the erf GELU in double: within 3e-7 |x| (the formula's
 * 1.5e-7 on erf, plus fp32 rounding), fp32 in place and bf16 out of place
 * (the fp32 value rounded to nearest even), lengths around the vector
 * widths. */
static void test_gelu_kernels(void) {
  tw_gelu_row_fn fns[2] = {tw_gelu_row_generic, NULL};
  const char *names[2] = {"generic", "avx512"};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    fns[1] = tw_gelu_row_avx512;
#endif
  if (!fns[1]) printf("  gelu kernels: no AVX-512 here, its body not run\n");
  enum { N = 1003 };
  static float x[N], y[N];
  static tw_bf16 yb[N];
  for (size_t i = 0; i < N; i++) x[i] = (float)(-12.0 + 24.0 * (double)i / (N - 1));
  x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-30f, x[3] = -30.0f, x[4] = 30.0f;
  static const size_t lens[] = {1, 15, 16, 17, N};
  for (int f = 0; f < 2; f++) {
    if (!fns[f]) continue;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
      size_t n = lens[li];
      memcpy(y, x, sizeof y);
      fns[f](y, n, y, 0);
      fns[f](x, n, yb, 1);
      int bad = 0;
      for (size_t i = 0; i < n; i++) {
        double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
        if (fabs(y[i] - want) > 3e-7 * fabs(x[i]) + 1e-37) bad++;
        if (yb[i] != tw_fp32_to_bf16(y[i])) bad++;
      }
      CHECK_MSG(bad == 0, "gelu %s n %zu: %d wrong", names[f], n, bad);
    }
    /* the far negative tail: GELU is within 3e-7 |x| of 0 there, and no
     * result is subnormal (the bodies clamp |x| so that nothing on the way
     * is: subnormal products cost a microcode assist each) */
    enum { NT = 4000 };
    static float xt[NT], yt[NT];
    for (size_t i = 0; i < NT; i++) xt[i] = (float)(-8.0 - 0.02 * (double)i);
    fns[f](xt, NT, yt, 0);
    int tail_bad = 0;
    for (size_t i = 0; i < NT; i++) {
      double want = 0.5 * xt[i] * erfc(-xt[i] / sqrt(2.0));
      if (fabs(yt[i] - want) > 3e-7 * fabs(xt[i]) || fpclassify(yt[i]) == FP_SUBNORMAL) tail_bad++;
    }
    CHECK_MSG(tail_bad == 0, "gelu %s: %d of the tail x in [-88, -8] wrong or subnormal", names[f],
              tail_bad);
  }
}

int main(void) {
  test_exp_sums();
  test_gelu_kernels();
  tw_threadpool *pool = NULL;
  CHECK(tw_threadpool_create(2, &pool) == TW_OK);
  tw_threadpool *pools[] = {NULL, pool};
  for (int p = 0; p < 2; p++) {
    printf(" %s:\n", p ? "2 threads" : "no pool");
    for (int bf = 0; bf < 2; bf++) {
      tw_dtype yt = bf ? TW_DTYPE_BF16 : TW_DTYPE_F32;
      test_layernorm(pools[p], yt);
      test_softmax(pools[p], yt);
      test_gelu(pools[p], yt);
    }
    test_im2col(pools[p]);
    test_transpose(pools[p]);
    test_add(pools[p]);
  }
  tw_threadpool_destroy(pool);
  return tw_test_finish("test_encoder_ops");
}

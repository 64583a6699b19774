#include "whisper/ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tilewhisper/bf16.h"

/* ---- parallel row ranges ---- */

typedef struct rows_job {
  tw_rows_fn fn;
  void *arg;
  size_t rows, n_tasks;
} rows_job;

static void rows_task(void *arg, size_t task, int thread) {
  (void)thread;
  const rows_job *j = arg;
  size_t r0 = j->rows * task / j->n_tasks, r1 = j->rows * (task + 1) / j->n_tasks;
  if (r1 > r0) j->fn(j->arg, r0, r1);
}

void tw_parallel_rows(tw_threadpool *pool, size_t rows, tw_rows_fn fn, void *arg) {
  size_t n_threads = (size_t)tw_threadpool_size(pool);
  rows_job j = {fn, arg, rows, n_threads < rows ? n_threads : rows};
  if (j.n_tasks <= 1) {
    if (rows) fn(arg, 0, rows);
    return;
  }
  tw_threadpool_run(pool, j.n_tasks, rows_task, &j);
}

/* Writes n fp32 values to y as yt. */
static void store_row(const float *v, size_t n, void *y, tw_dtype yt) {
  if (yt == TW_DTYPE_BF16)
    tw_fp32_to_bf16_n(v, (tw_bf16 *)y, n);
  else if ((const void *)v != y)
    memcpy(y, v, n * sizeof *v);
}

static size_t elem_size(tw_dtype t) { return t == TW_DTYPE_BF16 ? sizeof(tw_bf16) : sizeof(float); }

/* ---- LayerNorm ---- */

typedef struct ln_args {
  size_t n, ldx, ldy;
  const float *x, *w, *b;
  float eps;
  void *y;
  tw_dtype yt;
} ln_args;

static void ln_rows(void *arg, size_t r0, size_t r1) {
  const ln_args *a = arg;
  const size_t n = a->n;
  for (size_t r = r0; r < r1; r++) {
    const float *x = a->x + r * a->ldx;
    /* two passes with double sums: rows with a large common offset (the
     * residual stream's outlier channels) keep their precision */
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) sum += x[j];
    const double mean = sum / (double)n;
    double ss = 0.0;
    for (size_t j = 0; j < n; j++) ss += (x[j] - mean) * (x[j] - mean);
    const double rstd = 1.0 / sqrt(ss / (double)n + a->eps);
    if (a->yt == TW_DTYPE_BF16) {
      tw_bf16 *y = (tw_bf16 *)a->y + r * a->ldy;
      for (size_t j = 0; j < n; j++)
        y[j] = tw_fp32_to_bf16((float)((x[j] - mean) * rstd) * a->w[j] + a->b[j]);
    } else {
      float *y = (float *)a->y + r * a->ldy;
      for (size_t j = 0; j < n; j++) y[j] = (float)((x[j] - mean) * rstd) * a->w[j] + a->b[j];
    }
  }
}

void tw_op_layernorm(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx,
                     const float *w, const float *b, float eps, void *y, tw_dtype yt,
                     size_t ldy) {
  ln_args a = {n, ldx, ldy, x, w, b, eps, y, yt};
  tw_parallel_rows(pool, rows, ln_rows, &a);
}

/* ---- softmax ---- */

typedef struct softmax_args {
  size_t n, ldx, ldy;
  float *x;
  float scale;
  void *y;
  tw_dtype yt;
} softmax_args;

static void softmax_rows(void *arg, size_t r0, size_t r1) {
  const softmax_args *a = arg;
  const size_t n = a->n;
  for (size_t r = r0; r < r1; r++) {
    float *x = a->x + r * a->ldx;
    float mx = x[0];
    for (size_t j = 1; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    float sum = 0.0f;
    for (size_t j = 0; j < n; j++) {
      x[j] = expf((x[j] - mx) * a->scale);
      sum += x[j];
    }
    const float inv = 1.0f / sum;
    for (size_t j = 0; j < n; j++) x[j] *= inv;
    store_row(x, n, (char *)a->y + r * a->ldy * elem_size(a->yt), a->yt);
  }
}

void tw_op_softmax(tw_threadpool *pool, size_t rows, size_t n, float *x, size_t ldx, float scale,
                   void *y, tw_dtype yt, size_t ldy) {
  softmax_args a = {n, ldx, ldy, x, scale, y, yt};
  tw_parallel_rows(pool, rows, softmax_rows, &a);
}

/* ---- GELU ---- */

typedef struct gelu_args {
  size_t n, ldx, ldy;
  const float *x;
  void *y;
  tw_dtype yt;
} gelu_args;

/* 1 + erf(v / sqrt 2) written as erfc(-v / sqrt 2), which keeps its relative
 * precision in the negative tail where 1 + erf cancels. */
static inline float gelu(float v) { return 0.5f * v * erfcf(v * -0.70710678118654752f); }

static void gelu_rows(void *arg, size_t r0, size_t r1) {
  const gelu_args *a = arg;
  for (size_t r = r0; r < r1; r++) {
    const float *x = a->x + r * a->ldx;
    if (a->yt == TW_DTYPE_BF16) {
      tw_bf16 *y = (tw_bf16 *)a->y + r * a->ldy;
      for (size_t j = 0; j < a->n; j++) y[j] = tw_fp32_to_bf16(gelu(x[j]));
    } else {
      float *y = (float *)a->y + r * a->ldy;
      for (size_t j = 0; j < a->n; j++) y[j] = gelu(x[j]);
    }
  }
}

void tw_op_gelu(tw_threadpool *pool, size_t rows, size_t n, const float *x, size_t ldx, void *y,
                tw_dtype yt, size_t ldy) {
  gelu_args a = {n, ldx, ldy, x, y, yt};
  tw_parallel_rows(pool, rows, gelu_rows, &a);
}

/* ---- residual add ---- */

typedef struct add_args {
  size_t n, ldx, ldy;
  float *x;
  const float *y;
} add_args;

static void add_rows(void *arg, size_t r0, size_t r1) {
  const add_args *a = arg;
  for (size_t r = r0; r < r1; r++) {
    float *x = a->x + r * a->ldx;
    const float *y = a->y + r * a->ldy;
    for (size_t j = 0; j < a->n; j++) x[j] += y[j];
  }
}

void tw_op_add(tw_threadpool *pool, size_t rows, size_t n, float *x, size_t ldx, const float *y,
               size_t ldy) {
  add_args a = {n, ldx, ldy, x, y};
  tw_parallel_rows(pool, rows, add_rows, &a);
}

/* ---- im2col, kernel 3, padding 1 ---- */

typedef struct im2col_args {
  const float *x;
  size_t channels, t_in, c_stride, t_stride, stride;
  void *col;
  tw_dtype yt;
} im2col_args;

static void im2col_rows(void *arg, size_t r0, size_t r1) {
  const im2col_args *a = arg;
  const size_t k = a->channels * 3;
  for (size_t t = r0; t < r1; t++) {
    const size_t s0 = t * a->stride; /* input time of tap 1; tap 0 is s0 - 1 */
    const int has_l = s0 >= 1, has_c = s0 < a->t_in, has_r = s0 + 1 < a->t_in;
    const float *xl = a->x + (s0 - (size_t)has_l) * a->t_stride;
    const float *xc = a->x + (has_c ? s0 : 0) * a->t_stride;
    const float *xr = a->x + (has_r ? s0 + 1 : 0) * a->t_stride;
    if (a->yt == TW_DTYPE_BF16) {
      tw_bf16 *o = (tw_bf16 *)a->col + t * k;
      for (size_t c = 0; c < a->channels; c++) {
        const size_t off = c * a->c_stride;
        o[c * 3 + 0] = tw_fp32_to_bf16(has_l ? xl[off] : 0.0f);
        o[c * 3 + 1] = tw_fp32_to_bf16(has_c ? xc[off] : 0.0f);
        o[c * 3 + 2] = tw_fp32_to_bf16(has_r ? xr[off] : 0.0f);
      }
    } else {
      float *o = (float *)a->col + t * k;
      for (size_t c = 0; c < a->channels; c++) {
        const size_t off = c * a->c_stride;
        o[c * 3 + 0] = has_l ? xl[off] : 0.0f;
        o[c * 3 + 1] = has_c ? xc[off] : 0.0f;
        o[c * 3 + 2] = has_r ? xr[off] : 0.0f;
      }
    }
  }
}

void tw_op_im2col_k3(tw_threadpool *pool, const float *x, size_t channels, size_t t_in,
                     size_t c_stride, size_t t_stride, size_t stride, size_t t_out, void *col,
                     tw_dtype yt) {
  im2col_args a = {x, channels, t_in, c_stride, t_stride, stride, col, yt};
  tw_parallel_rows(pool, t_out, im2col_rows, &a);
}

/* tw_gemm: argument checks, plan lookup (cached per shape), execution and
 * statistics. */
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "gemm/engine.h"
#include "kernels/elementwise.h"

static int find_kernel(const tw_device *dev, const char *name) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (strcmp(dev->kernels[i].name, name) == 0) return i;
  return -1;
}

static int check_args(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type,
                      size_t lda, const tw_weight *w, const float *c, size_t ldc) {
  tw_errbuf *e = &s->err;
  if (!a || !w || !c)
    return tw_err(e, TW_EINVAL, "gemm: %s is NULL", !a ? "A" : !w ? "the weight" : "C");
  if (w->dev != s->dev)
    return tw_err(e, TW_EWRONGDEVICE,
                  "gemm: weight %s was prepared on another device (%s) than the stream's (%s)",
                  w->name, w->dev->name, s->dev->name);
  if (m == 0 || k == 0)
    return tw_err(e, TW_EINVAL, "gemm: A is %zux%zu: dimensions must be positive", m, k);
  if (m > (1u << 30) || k > (1u << 30))
    return tw_err(e, TW_EOVERFLOW, "gemm: A is %zux%zu: too large", m, k);
  if (k != w->k)
    return tw_err(e, TW_ESHAPE, "gemm: A is %zux%zu but weight %s is %zux%zu", m, k, w->name,
                  w->k, w->n);
  if (a_type != TW_DTYPE_F32 && a_type != TW_DTYPE_BF16)
    return tw_err(e, TW_EINVAL, "gemm: A dtype %d is not F32 or BF16", (int)a_type);
  if (lda < k) return tw_err(e, TW_EINVAL, "gemm: lda %zu is smaller than K = %zu", lda, k);
  if (ldc < w->n)
    return tw_err(e, TW_EINVAL, "gemm: ldc %zu is smaller than N = %zu", ldc, w->n);
  size_t span;
  if (tw_mul3_size(m, lda, 4, &span) || tw_mul3_size(m, ldc, 4, &span))
    return tw_err(e, TW_EOVERFLOW, "gemm: %zu rows with lda %zu / ldc %zu overflow", m, lda, ldc);
  return TW_OK;
}

static int lookup_plan(tw_stream *s, const tw_plan_request *req, tw_plan *out) {
  tw_plan_entry *victim = &s->plans[0];
  for (int i = 0; i < TW_PLAN_CACHE; i++) {
    tw_plan_entry *pe = &s->plans[i];
    if (pe->used && memcmp(&pe->req, req, sizeof *req) == 0) {
      pe->last_use = ++s->plan_clock;
      *out = pe->plan;
      return TW_OK;
    }
    if (!pe->used || pe->last_use < victim->last_use) victim = pe;
  }
  int rc = tw_plan_choose(s->dev, req, out, &s->err);
  if (rc) return rc;
  memset(victim, 0, sizeof *victim);
  victim->req = *req;
  victim->plan = *out;
  victim->used = 1;
  victim->last_use = ++s->plan_clock;
  return TW_OK;
}

/* The plan of a call: a direct one on packed devices, else the planner's
 * (cached per request). */
static int plan_call(tw_stream *s, size_t m, size_t k, size_t n, const tw_gemm_options *o,
                     tw_dtype a_compute, size_t extra_weight_bytes, tw_plan *plan) {
  tw_device *dev = s->dev;
  int forced = -1;
  if (o->kernel && (forced = find_kernel(dev, o->kernel)) < 0)
    return tw_err(&s->err, TW_ENOTFOUND, "gemm: device %s has no kernel '%s'", dev->name,
                  o->kernel);
  memset(plan, 0, sizeof *plan);
  if (dev->layout == TW_LAYOUT_PACKED) {
    plan->direct = 1;
    return TW_OK;
  }
  if (a_compute != TW_DTYPE_BF16)
    return tw_err(&s->err, TW_EUNSUPPORTED, "gemm: device %s computes with bf16 inputs only",
                  dev->name);
  tw_plan_request req;
  memset(&req, 0, sizeof req); /* padding bytes too: the cache compares with memcmp */
  req.m = m;
  req.k = k;
  req.n = n;
  req.kernel = forced;
  req.host_k_loop = o->host_k_loop;
  req.max_batch = o->max_batch > 0 ? (size_t)o->max_batch : 0;
  /* every live weight on the device, not only this one */
  req.weight_bytes = atomic_load(&dev->resident_bytes) + extra_weight_bytes;
  return lookup_plan(s, &req, plan);
}

typedef struct gelu_job {
  float *c;
  size_t n, ldc;
  tw_gelu_row_fn fn;
} gelu_job;

static void gelu_task(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const gelu_job *j = arg;
  for (size_t r = r0; r < r1; r++) j->fn(j->c + r * j->ldc, j->n, j->c + r * j->ldc, 0);
}

/* C[m x n] = GELU(C) in place over the pool: the epilogue of devices that
 * do not fuse it. */
static void gelu_rows(tw_threadpool *pool, size_t m, size_t n, float *c, size_t ldc) {
  gelu_job j = {.c = c, .n = n, .ldc = ldc, .fn = tw_gelu_row_kernel()};
  tw_parallel_rows(pool, m, gelu_task, &j);
}

/* tw_gemm_ex, with `cols` (or NULL) handed to a direct device that takes
 * it; *cols_done says whether it did. */
static int gemm_run(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
                    const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
                    const tw_weight_cols_args *cols, int *cols_done, tw_gemm_stats *stats) {
  *cols_done = 0;
  if (!s) return tw_err(NULL, TW_EINVAL, "gemm: stream is NULL");
  double t0 = tw_now();
  int rc = check_args(s, m, k, a, a_type, lda, w, c, ldc);
  if (rc) return rc;
  tw_gemm_options o = opts ? *opts : (tw_gemm_options){0};
  if (o.epilogue != TW_EPILOGUE_NONE && o.epilogue != TW_EPILOGUE_GELU)
    return tw_err(&s->err, TW_EINVAL, "gemm: unknown epilogue %d", o.epilogue);
  tw_dtype a_compute = o.a_compute == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : o.a_compute;
  tw_plan plan;
  if ((rc = plan_call(s, m, k, w->n, &o, a_compute, 0, &plan))) return rc;
  tw_gemm_stats st;
  memset(&st, 0, sizeof st);
  /* the device applies the epilogue where it can, else it runs here after */
  const int fused = plan.direct && (s->dev->iface->epilogues >> o.epilogue & 1u);
  const int with_cols = cols && plan.direct && s->dev->iface->gemm_cols_out;
  rc = tw_execute(s, &plan, m, a, a_type, lda, w, c, ldc, a_compute,
                  fused ? o.epilogue : TW_EPILOGUE_NONE, with_cols ? cols : NULL, &st);
  if (rc) return rc;
  *cols_done = with_cols;
  if (o.epilogue == TW_EPILOGUE_GELU && !fused) gelu_rows(s->pool, m, w->n, c, ldc);
  st.calls = 1;
  st.useful_flops = 2.0 * (double)m * (double)k * (double)w->n;
  st.padded_flops = plan.direct ? st.useful_flops : plan.padded_flops;
  st.predicted_s = plan.predicted_s;
  st.total_s = tw_now() - t0;
  tw_stats_add(&s->totals, &st);
  s->last_plan = plan;
  if (stats) *stats = st;
  return TW_OK;
}

int tw_gemm_ex(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
               const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
               tw_gemm_stats *stats) {
  int unused;
  return gemm_run(s, m, k, a, a_type, lda, w, c, ldc, opts, NULL, &unused, stats);
}

int tw_gemm(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
            const tw_weight *w, float *c, size_t ldc, tw_gemm_stats *stats) {
  return tw_gemm_ex(s, m, k, a, a_type, lda, w, c, ldc, NULL, stats);
}

int tw_gemm_plan(tw_stream *s, size_t m, size_t k, size_t n, const tw_gemm_options *opts,
                 int b_per_call, tw_gemm_stats *out) {
  if (!s || !out) return tw_err(s ? &s->err : NULL, TW_EINVAL, "tw_gemm_plan: %s is NULL",
                                s ? "out" : "stream");
  memset(out, 0, sizeof *out);
  if (m == 0 || k == 0 || n == 0 || m > (1u << 30) || k > (1u << 30) || n > (1u << 30))
    return tw_err(&s->err, TW_EINVAL, "tw_gemm_plan: %zux%zux%zu is empty or too large", m, k, n);
  tw_gemm_options o = opts ? *opts : (tw_gemm_options){0};
  tw_dtype a_compute = o.a_compute == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : o.a_compute;
  /* The weight is not prepared: count its device memory as if it were. */
  size_t km, nm;
  tw_plan_weight_padding(s->dev, &km, &nm);
  size_t b_bytes = (k + km - 1) / km * km * ((n + nm - 1) / nm * nm) * 2;
  tw_plan plan;
  int rc = plan_call(s, m, k, n, &o, a_compute, b_bytes, &plan);
  if (rc) return rc;
  out->calls = 1;
  out->useful_flops = 2.0 * (double)m * (double)k * (double)n;
  if (plan.direct) {
    out->invocations = out->submissions = 1;
    out->padded_flops = out->useful_flops;
    return TW_OK;
  }
  out->invocations = plan.invocations;
  out->submissions = plan.submissions + (b_per_call ? 1 : 0);
  out->bytes_to_device = plan.bytes_to_device + (b_per_call ? b_bytes : 0);
  out->bytes_from_device = plan.bytes_from_device;
  out->padded_flops = plan.padded_flops;
  out->predicted_s = plan.predicted_s;
  return TW_OK;
}

int tw_gemm_into_cols(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
                      const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
                      size_t n, tw_weight *const *wts, const size_t *col) {
  if (!s) return tw_err(NULL, TW_EINVAL, "gemm: stream is NULL");
  void *handles[TW_COLS_MAX];
  int transposed[TW_COLS_MAX];
  if (s->dev->iface->gemm_cols_out && wts && col &&
      tw_weight_cols_handles(s, n, wts, handles, transposed)) {
    tw_errbuf keep = s->err;
    tw_weight_cols_args cols = {.ld = ldc, .rows = m, .n = n, .handles = handles, .col = col,
                                .transposed = transposed};
    int done = 0;
    int rc = gemm_run(s, m, k, a, a_type, lda, w, c, ldc, opts, &cols, &done, NULL);
    if (rc == TW_OK && done) return TW_OK;
    if (rc == TW_OK) return tw_weight_update_cols(s, n, wts, c, ldc, m, col);
    if (rc != TW_EUNSUPPORTED) return rc;
    s->err = keep; /* weights the device does not write: the plain way below */
  }
  int rc = tw_gemm_ex(s, m, k, a, a_type, lda, w, c, ldc, opts, NULL);
  if (rc) return rc;
  return tw_weight_update_cols(s, n, wts, c, ldc, m, col);
}

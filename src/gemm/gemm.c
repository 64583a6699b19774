/* tw_gemm: argument checks, plan lookup (cached per shape), execution and
 * statistics. */
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "gemm/engine.h"

static int find_kernel(const tw_device *dev, const char *name) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (strcmp(dev->kernels[i].name, name) == 0) return i;
  return -1;
}

static int check_args(tw_context *ctx, size_t m, size_t k, const void *a, tw_dtype a_type,
                      size_t lda, const tw_weight *w, const float *c, size_t ldc) {
  tw_errbuf *e = &ctx->err;
  if (!a || !w || !c)
    return tw_err(e, TW_EINVAL, "gemm: %s is NULL", !a ? "A" : !w ? "the weight" : "C");
  if (w->ctx != ctx)
    return tw_err(e, TW_EWRONGDEVICE, "gemm: weight %s was prepared on another context (%s)",
                  w->name, w->ctx->dev->name);
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

static int lookup_plan(tw_context *ctx, const tw_plan_request *req, tw_plan *out) {
  tw_plan_entry *victim = &ctx->plans[0];
  for (int i = 0; i < TW_PLAN_CACHE; i++) {
    tw_plan_entry *pe = &ctx->plans[i];
    if (pe->used && memcmp(&pe->req, req, sizeof *req) == 0) {
      pe->last_use = ++ctx->plan_clock;
      *out = pe->plan;
      return TW_OK;
    }
    if (!pe->used || pe->last_use < victim->last_use) victim = pe;
  }
  int rc = tw_plan_choose(ctx->dev, req, out, &ctx->err);
  if (rc) return rc;
  memset(victim, 0, sizeof *victim);
  victim->req = *req;
  victim->plan = *out;
  victim->used = 1;
  victim->last_use = ++ctx->plan_clock;
  return TW_OK;
}

int tw_gemm_ex(tw_context *ctx, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
               const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
               tw_gemm_stats *stats) {
  if (!ctx) return tw_err(NULL, TW_EINVAL, "gemm: context is NULL");
  double t0 = tw_now();
  int rc = check_args(ctx, m, k, a, a_type, lda, w, c, ldc);
  if (rc) return rc;
  tw_gemm_options o = opts ? *opts : (tw_gemm_options){0};
  tw_dtype a_compute = o.a_compute == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : o.a_compute;
  tw_device *dev = ctx->dev;
  int forced = -1;
  if (o.kernel && (forced = find_kernel(dev, o.kernel)) < 0)
    return tw_err(&ctx->err, TW_ENOTFOUND, "gemm: device %s has no kernel '%s'", dev->name,
                  o.kernel);
  tw_plan plan;
  memset(&plan, 0, sizeof plan);
  if (dev->iface->gemm) {
    plan.direct = 1;
  } else {
    if (a_compute != TW_DTYPE_BF16)
      return tw_err(&ctx->err, TW_EUNSUPPORTED, "gemm: device %s computes with bf16 inputs only",
                    dev->name);
    tw_plan_request req;
    memset(&req, 0, sizeof req); /* padding bytes too: the cache compares with memcmp */
    req.m = m;
    req.k = k;
    req.n = w->n;
    req.kernel = forced;
    req.host_k_loop = o.host_k_loop;
    req.max_batch = o.max_batch > 0 ? (size_t)o.max_batch : 0;
    req.weight_bytes = ctx->resident_bytes; /* every live weight, not only this one */
    if ((rc = lookup_plan(ctx, &req, &plan))) return rc;
  }
  tw_gemm_stats st;
  memset(&st, 0, sizeof st);
  rc = tw_execute(ctx, &plan, m, a, a_type, lda, w, c, ldc, a_compute, &st);
  if (rc) return rc;
  st.calls = 1;
  st.useful_flops = 2.0 * (double)m * (double)k * (double)w->n;
  st.padded_flops = plan.direct ? st.useful_flops : plan.padded_flops;
  st.predicted_s = plan.predicted_s;
  st.total_s = tw_now() - t0;
  tw_stats_add(&ctx->totals, &st);
  ctx->last_plan = plan;
  if (stats) *stats = st;
  return TW_OK;
}

int tw_gemm(tw_context *ctx, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
            const tw_weight *w, float *c, size_t ldc, tw_gemm_stats *stats) {
  return tw_gemm_ex(ctx, m, k, a, a_type, lda, w, c, ldc, NULL, stats);
}

/* The decoder's attention through the engine: a step's self-attention over
 * the cache and the cross-attention over a window's K/V weights, handed to
 * the device when it has the fused kernels (the caller runs the planned
 * products when it declines). */
#include <string.h>

#include "core/timing.h"
#include "gemm/attention.h"
#include "gemm/engine.h"

static void count_call(tw_stream *ctx, double flops, double t0) {
  tw_gemm_stats st;
  memset(&st, 0, sizeof st);
  st.calls = 1;
  st.useful_flops = st.padded_flops = flops;
  st.total_s = st.compute_s = tw_now() - t0;
  tw_stats_add(&ctx->totals, &st);
}

int tw_attention_step(tw_stream *ctx, size_t n_seq, size_t n_head, size_t d, size_t n_keys,
                      float scale, const float *q, size_t ldq, tw_dtype kv_type,
                      const void *const *k, size_t ldk, const void *const *vt, size_t ldvt,
                      float *out, size_t ldo) {
  if (!ctx) return tw_err(NULL, TW_EINVAL, "attention step: stream is NULL");
  tw_device *dev = ctx->dev;
  if (!dev->iface->attention_step) return TW_EUNSUPPORTED;
  double t0 = tw_now();
  tw_errbuf dev_err = {{0}};
  tw_attention_step_args a = {.n_seq = n_seq, .n_head = n_head, .d = d, .n_keys = n_keys,
                              .scale = scale, .q = q, .ldq = ldq, .kv_type = kv_type, .k = k,
                              .ldk = ldk, .vt = vt,
                              .ldvt = ldvt, .out = out, .ldo = ldo, .pool = ctx->pool,
                              .err = &dev_err};
  int rc = dev->iface->attention_step(dev, &a);
  if (rc == TW_EUNSUPPORTED) return rc;
  if (rc) return tw_err(&ctx->err, rc, "attention step: %s: %s", dev->name, dev_err.msg);
  count_call(ctx, 4.0 * (double)n_seq * (double)n_keys * (double)d * (double)n_head, t0);
  return TW_OK;
}

int tw_attention_cross(tw_stream *ctx, size_t m, size_t n_head, size_t d, size_t T, float scale,
                       const float *q, size_t ldq, const tw_weight *const *kt,
                       const tw_weight *const *v, float *out, size_t ldo, int round_bf16) {
  enum { MAX_HEADS = 64 };
  if (!ctx || !kt || !v) return tw_err(NULL, TW_EINVAL, "cross attention: NULL argument");
  tw_device *dev = ctx->dev;
  if (!dev->iface->attention_cross || n_head > MAX_HEADS) return TW_EUNSUPPORTED;
  void *kh[MAX_HEADS], *vh[MAX_HEADS];
  for (size_t h = 0; h < n_head; h++) {
    if (!kt[h] || !v[h] || kt[h]->dev != dev || v[h]->dev != dev || !kt[h]->handle ||
        !v[h]->handle || kt[h]->k != d || kt[h]->n != T || v[h]->k != T || v[h]->n != d)
      return TW_EUNSUPPORTED;
    kh[h] = kt[h]->handle;
    vh[h] = v[h]->handle;
  }
  double t0 = tw_now();
  tw_errbuf dev_err = {{0}};
  tw_attention_cross_args a = {.m = m, .n_head = n_head, .d = d, .T = T, .scale = scale, .q = q,
                               .ldq = ldq, .kt = kh, .v = vh, .out = out, .ldo = ldo,
                               .round_bf16 = round_bf16, .pool = ctx->pool,
                               .stream = ctx->dev_stream, .err = &dev_err};
  int rc = dev->iface->attention_cross(dev, &a);
  if (rc == TW_EUNSUPPORTED) return rc;
  if (rc) return tw_err(&ctx->err, rc, "cross attention: %s: %s", dev->name, dev_err.msg);
  count_call(ctx, 4.0 * (double)m * (double)T * (double)d * (double)n_head, t0);
  return TW_OK;
}

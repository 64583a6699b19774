/* tw_attention: hands fused attention to the device when it has it. */
#include "gemm/attention.h"

#include <string.h>

#include "core/timing.h"
#include "gemm/engine.h"

int tw_attention(tw_stream *ctx, size_t T, size_t n_head, size_t d, float scale, const float *q,
                 const float *k, const float *v, size_t ld, float *out, size_t ldo,
                 int allow_bf16) {
  if (!ctx) return tw_err(NULL, TW_EINVAL, "attention: stream is NULL");
  tw_device *dev = ctx->dev;
  if (!dev->iface->attention) return TW_EUNSUPPORTED;
  double t0 = tw_now();
  tw_errbuf dev_err = {{0}};
  tw_attention_args a = {.T = T, .n_head = n_head, .d = d, .scale = scale, .q = q, .k = k,
                         .v = v, .ldq = ld, .ldk = ld, .ldv = ld, .out = out, .ldo = ldo,
                         .allow_bf16 = allow_bf16 != 0, .pool = ctx->pool,
                         .stream = ctx->dev_stream, .err = &dev_err};
  int rc = dev->iface->attention(dev, &a);
  if (rc == TW_EUNSUPPORTED) return rc;
  if (rc) return tw_err(&ctx->err, rc, "attention: %s: %s", dev->name, dev_err.msg);
  tw_gemm_stats st;
  memset(&st, 0, sizeof st);
  st.calls = 1;
  st.useful_flops = st.padded_flops = 4.0 * (double)T * (double)T * (double)d * (double)n_head;
  st.total_s = st.compute_s = tw_now() - t0;
  tw_stats_add(&ctx->totals, &st);
  return TW_OK;
}

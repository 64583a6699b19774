#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "gemm/context.h"
#include "gemm/engine.h"

void tw_context_options_init(tw_context_options *opts) {
  memset(opts, 0, sizeof *opts);
  opts->device = "cpu";
}

static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 && n < 1024 ? (int)n : 1;
}

int tw_context_create(const tw_context_options *opts, tw_context **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_context_create: out is NULL");
  *out = NULL;
  tw_context_options defaults;
  if (!opts) {
    tw_context_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->threads < 0 || opts->threads > 1024)
    return tw_err(NULL, TW_EINVAL, "tw_context_create: threads = %d is out of range 0..1024",
                  opts->threads);
  tw_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return tw_err(NULL, TW_ENOMEM, "tw_context_create: out of memory");
  ctx->threads = opts->threads ? opts->threads : default_threads();
  int rc = tw_threadpool_create(ctx->threads, &ctx->pool);
  if (rc) {
    tw_context_destroy(ctx);
    return tw_err(NULL, rc, "tw_context_create: cannot start %d threads", ctx->threads);
  }
  tw_device_config cfg = {.kernels = opts->kernels, .options = opts->device_options,
                          .pool = ctx->pool};
  rc = tw_device_create(opts->device ? opts->device : "cpu", &cfg, &ctx->dev);
  if (rc) {
    tw_context_destroy(ctx); /* keeps the device's message as the thread's last error */
    return rc;
  }
  *out = ctx;
  return TW_OK;
}

void tw_context_destroy(tw_context *ctx) {
  if (!ctx) return;
  if (ctx->dev && ctx->dev->iface->buffer_free) {
    ctx->dev->iface->buffer_free(ctx->dev, ctx->scratch.a_dev);
    ctx->dev->iface->buffer_free(ctx->dev, ctx->scratch.c_dev);
  }
  tw_free(ctx->scratch.a_host);
  tw_free(ctx->scratch.c_host);
  tw_free(ctx->scratch.partials);
  tw_free(ctx->scratch.cmds);
  tw_device_destroy(ctx->dev);
  tw_threadpool_destroy(ctx->pool);
  free(ctx);
}

const char *tw_context_last_error(const tw_context *ctx) { return ctx ? ctx->err.msg : ""; }
const char *tw_context_device_name(const tw_context *ctx) { return ctx ? ctx->dev->name : ""; }
int tw_context_threads(const tw_context *ctx) { return ctx ? ctx->threads : 0; }
tw_threadpool *tw_context_pool(tw_context *ctx) { return ctx->pool; }
const tw_plan *tw_context_last_plan(const tw_context *ctx) { return &ctx->last_plan; }
const tw_device *tw_context_device(const tw_context *ctx) { return ctx->dev; }

void tw_stats_add(tw_gemm_stats *t, const tw_gemm_stats *s) {
  t->calls += s->calls;
  t->invocations += s->invocations;
  t->submissions += s->submissions;
  t->bytes_to_device += s->bytes_to_device;
  t->bytes_from_device += s->bytes_from_device;
  t->useful_flops += s->useful_flops;
  t->padded_flops += s->padded_flops;
  t->host_prep_s += s->host_prep_s;
  t->transfer_s += s->transfer_s;
  t->compute_s += s->compute_s;
  t->wait_s += s->wait_s;
  t->total_s += s->total_s;
  t->predicted_s += s->predicted_s;
  t->modeled_device_s += s->modeled_device_s;
}

void tw_context_stats(const tw_context *ctx, tw_gemm_stats *out) {
  if (ctx && out) *out = ctx->totals;
}

void tw_context_stats_reset(tw_context *ctx) {
  if (ctx) memset(&ctx->totals, 0, sizeof ctx->totals);
}

/* Streams: the per-thread half of the engine (plan cache, scratch, stats,
 * last error, worker pool) over a shared device. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "gemm/context.h"
#include "gemm/engine.h"

void tw_stream_options_init(tw_stream_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

int tw_stream_create(tw_device *dev, const tw_stream_options *opts, tw_stream **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_stream_create: out is NULL");
  *out = NULL;
  if (!dev) return tw_err(NULL, TW_EINVAL, "tw_stream_create: device is NULL");
  tw_stream_options defaults;
  if (!opts) {
    tw_stream_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->threads < 0 || opts->threads > 1024)
    return tw_err(NULL, TW_EINVAL, "tw_stream_create: threads = %d is out of range 0..1024",
                  opts->threads);
  if (opts->borrow_device_pool && !dev->pool)
    return tw_err(NULL, TW_EINVAL, "tw_stream_create: device %s has no pool to borrow", dev->name);
  tw_stream *s = tw_calloc_aligned(1, sizeof *s);
  if (!s) return tw_err(NULL, TW_ENOMEM, "tw_stream_create: out of memory");
  s->dev = dev;
  int rc = TW_OK;
  if (opts->borrow_device_pool) {
    s->pool = dev->pool;
  } else {
    int threads = opts->threads ? opts->threads : tw_default_threads();
    if ((rc = tw_threadpool_create(threads, &s->own_pool))) {
      tw_stream_destroy(s);
      return tw_err(NULL, rc, "tw_stream_create: cannot start %d threads", threads);
    }
    s->pool = s->own_pool;
  }
  if (dev->iface->stream_create && (rc = dev->iface->stream_create(dev, s->pool, &s->dev_stream))) {
    tw_err(NULL, rc, "tw_stream_create: %s: %s", dev->name, tw_last_error());
    tw_stream_destroy(s);
    return rc;
  }
  if ((opts->reserve_m || opts->reserve_k || opts->reserve_n) &&
      (rc = tw_stream_reserve(s, opts->reserve_m, opts->reserve_k, opts->reserve_n))) {
    tw_err(NULL, rc, "%s", s->err.msg);
    tw_stream_destroy(s);
    return rc;
  }
  *out = s;
  return TW_OK;
}

void tw_stream_destroy(tw_stream *s) {
  if (!s) return;
  tw_device *dev = s->dev;
  if (dev->iface->buffer_free) {
    pthread_mutex_lock(&dev->lock);
    dev->iface->buffer_free(dev, s->scratch.a_dev);
    dev->iface->buffer_free(dev, s->scratch.c_dev);
    pthread_mutex_unlock(&dev->lock);
  }
  if (s->dev_stream && dev->iface->stream_destroy) dev->iface->stream_destroy(dev, s->dev_stream);
  tw_free(s->scratch.a_host);
  tw_free(s->scratch.c_host);
  tw_free(s->scratch.partials);
  tw_free(s->scratch.cmds);
  tw_threadpool_destroy(s->own_pool);
  tw_free(s);
}

int tw_stream_reserve(tw_stream *s, size_t m, size_t k, size_t n) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_stream_reserve: stream is NULL");
  if (m == 0 || k == 0 || n == 0)
    return tw_err(&s->err, TW_EINVAL, "tw_stream_reserve: %zux%zux%zu has a zero dimension", m, k,
                  n);
  tw_device *dev = s->dev;
  if (dev->layout == TW_LAYOUT_PACKED) {
    if (!dev->iface->stream_reserve) return TW_OK;
    int rc = dev->iface->stream_reserve(dev, s->dev_stream, m, k, n);
    if (rc) return tw_err(&s->err, rc, "tw_stream_reserve on %s: %s", dev->name, tw_last_error());
    return TW_OK;
  }
  tw_plan_request req;
  memset(&req, 0, sizeof req);
  req.m = m;
  req.k = k;
  req.n = n;
  req.kernel = -1;
  req.weight_bytes = atomic_load(&dev->resident_bytes);
  tw_plan plan;
  int rc = tw_plan_choose(dev, &req, &plan, &s->err);
  if (rc) return rc;
  return tw_scratch_reserve(s, &plan, m, k);
}

const char *tw_stream_last_error(const tw_stream *s) { return s ? s->err.msg : ""; }
tw_device *tw_stream_device(const tw_stream *s) { return s ? s->dev : NULL; }
int tw_stream_threads(const tw_stream *s) { return s ? tw_threadpool_size(s->pool) : 0; }
tw_threadpool *tw_stream_pool(tw_stream *s) { return s->pool; }
const tw_plan *tw_stream_last_plan(const tw_stream *s) { return &s->last_plan; }

int tw_stream_last_plan_info(const tw_stream *s, tw_plan_info *out) {
  if (!s || !out)
    return tw_err(NULL, TW_EINVAL, "tw_stream_last_plan_info: %s is NULL", s ? "out" : "stream");
  const tw_plan *p = &s->last_plan;
  memset(out, 0, sizeof *out);
  out->direct = p->direct;
  snprintf(out->kernel, sizeof out->kernel, "%s", p->direct ? "any" : s->dev->kernels[p->kernel].name);
  out->column_order = p->order != TW_ORDER_ROWS;
  out->host_k = p->host_k;
  out->batch = p->direct ? 1 : p->batch;
  out->m_tiles = p->mt;
  out->k_tiles = p->kt;
  out->n_tiles = p->nt;
  out->m_pad = p->m_pad;
  out->k_pad = p->k_pad;
  out->n_pad = p->n_pad;
  return TW_OK;
}

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

void tw_stream_stats(const tw_stream *s, tw_gemm_stats *out) {
  if (s && out) *out = s->totals;
}

void tw_stream_stats_reset(tw_stream *s) {
  if (s) memset(&s->totals, 0, sizeof s->totals);
}

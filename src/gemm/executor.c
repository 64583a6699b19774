/* The executor: runs a plan on the stream's device.
 *
 * Queue path, per call: A is converted to bf16 into a padded host staging
 * buffer, then the invocation sequence of the plan is cut into submissions
 * of `batch` kernels.  Each submission carries the A uploads and C reads its
 * kernels need; at most two submissions are in flight, so the device works
 * on one while the host prepares (and, with the host K loop, sums) the other.
 * C reaches the caller's array only after every submission succeeded. */
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "gemm/engine.h"

typedef struct inflight {
  uint64_t fence;
  size_t first, count; /* invocation range of the submission */
  int slot;            /* partial-tile slot half (host K loop) */
} inflight;

typedef struct exec {
  tw_stream *stream;
  tw_device *dev;
  const tw_plan *p;
  const tw_weight *w;
  size_t out_elem;
  size_t tile_elems; /* mk * nk */
  tw_gemm_stats *st;
  tw_exec_times times;
} exec;

static int grow_host(void **buf, size_t *cap, size_t bytes) {
  if (*cap >= bytes) return TW_OK;
  void *fresh = tw_malloc_aligned(bytes);
  if (!fresh) return TW_ENOMEM;
  tw_free(*buf);
  *buf = fresh;
  *cap = bytes;
  return TW_OK;
}

static int grow_dev(tw_device *dev, tw_dbuf **buf, size_t bytes) {
  if (*buf && (*buf)->bytes >= bytes) return TW_OK;
  if (*buf) dev->iface->buffer_free(dev, *buf);
  *buf = NULL;
  return dev->iface->buffer_alloc(dev, bytes ? bytes : 1, buf);
}

/* Invocation index -> (i, j, pk) in the plan's loop order; K is innermost. */
static void decode(const tw_plan *p, size_t idx, size_t *i, size_t *j, size_t *pk) {
  *pk = idx % p->kt;
  size_t rest = idx / p->kt;
  if (p->order == TW_ORDER_ROWS) {
    *j = rest % p->nt;
    *i = rest / p->nt;
  } else {
    *i = rest % p->mt;
    *j = rest / p->mt;
  }
}

/* Host-side row loops (A to padded bf16, C back to the caller) run over the
 * context's pool in blocks of rows; each row is independent, so the result
 * does not depend on the thread count. */
enum { ROWS_PER_TASK = 64 };

typedef struct rows_job {
  exec *e;
  size_t m, k;
  const void *a;
  tw_dtype a_type;
  size_t lda;
  float *c;
  size_t ldc;
} rows_job;

static void convert_a_rows(void *arg, size_t task, int thread) {
  (void)thread;
  const rows_job *j = arg;
  const tw_plan *p = j->e->p;
  tw_bf16 *dst = j->e->stream->scratch.a_host;
  size_t end = (task + 1) * ROWS_PER_TASK < p->m_pad ? (task + 1) * ROWS_PER_TASK : p->m_pad;
  for (size_t i = task * ROWS_PER_TASK; i < end; i++) {
    tw_bf16 *row = dst + i * p->k_pad;
    if (i >= j->m) {
      memset(row, 0, p->k_pad * sizeof *row);
      continue;
    }
    if (j->a_type == TW_DTYPE_BF16)
      memcpy(row, (const tw_bf16 *)j->a + i * j->lda, j->k * sizeof *row);
    else
      tw_fp32_to_bf16_n((const float *)j->a + i * j->lda, row, j->k);
    memset(row + j->k, 0, (p->k_pad - j->k) * sizeof *row);
  }
}

/* Builds the commands of invocations [first, first+count) into cmds. */
static size_t build_submission(exec *e, size_t first, size_t count, int slot, tw_cmd *cmds) {
  const tw_plan *p = e->p;
  tw_scratch *s = &e->stream->scratch;
  size_t n = 0;
  size_t a_panel = (size_t)p->mk * p->k_pad * 2;
  for (size_t q = 0; q < count; q++) {
    size_t idx = first + q, i, j, pk;
    decode(p, idx, &i, &j, &pk);
    int first_use = p->order == TW_ORDER_ROWS ? (j == 0 && pk == 0) : (idx == 0);
    if (first_use)
      cmds[n++] = (tw_cmd){.op = TW_CMD_WRITE, .buf = s->a_dev,
                           .offset = p->order == TW_ORDER_ROWS ? i * a_panel : 0,
                           .bytes = p->order == TW_ORDER_ROWS ? a_panel : p->m_pad * p->k_pad * 2,
                           .src = (const char *)s->a_host +
                                  (p->order == TW_ORDER_ROWS ? i * a_panel : 0)};
    tw_cmd *kc = &cmds[n++];
    *kc = (tw_cmd){.op = TW_CMD_KERNEL, .kernel = p->kernel, .a = s->a_dev,
                   .a_off = (i * (size_t)p->mk * p->k_pad + pk * (size_t)p->kk) * 2,
                   .lda = p->k_pad, .b = e->w->buf,
                   .b_off = (pk * (size_t)p->kk * e->w->n_pad + j * (size_t)p->nk) * 2,
                   .ldb = e->w->n_pad, .c = s->c_dev, .m = p->mk, .k = p->kk, .n = p->nk};
    if (p->host_k) {
      size_t tile = (size_t)slot * p->batch + q;
      kc->c_off = tile * e->tile_elems * e->out_elem;
      kc->ldc = (size_t)p->nk;
      cmds[n++] = (tw_cmd){.op = TW_CMD_READ, .buf = s->c_dev, .offset = kc->c_off,
                           .bytes = e->tile_elems * e->out_elem,
                           .dst = (char *)s->partials + kc->c_off};
    } else {
      kc->c_off = (i * (size_t)p->mk * p->n_pad + j * (size_t)p->nk) * e->out_elem;
      kc->ldc = p->n_pad;
      kc->accumulate = pk > 0;
      int row_done = p->order == TW_ORDER_ROWS && j == p->nt - 1 && pk == p->kt - 1;
      int all_done = idx == p->invocations - 1 && p->order == TW_ORDER_COLS;
      if (row_done || all_done) {
        size_t off = row_done ? i * (size_t)p->mk * p->n_pad * e->out_elem : 0;
        size_t bytes = row_done ? (size_t)p->mk * p->n_pad * e->out_elem
                                : p->m_pad * p->n_pad * e->out_elem;
        cmds[n++] = (tw_cmd){.op = TW_CMD_READ, .buf = s->c_dev, .offset = off, .bytes = bytes,
                             .dst = (char *)s->c_host + off};
      }
    }
  }
  return n;
}

static float partial_value(const exec *e, const void *base, size_t idx) {
  return e->out_elem == 2 ? tw_bf16_to_fp32(((const tw_bf16 *)base)[idx])
                          : ((const float *)base)[idx];
}

/* Host K loop: add the partial tiles of a finished submission into C. */
static void sum_partials(exec *e, const inflight *f) {
  const tw_plan *p = e->p;
  tw_scratch *s = &e->stream->scratch;
  for (size_t q = 0; q < f->count; q++) {
    size_t i, j, pk;
    decode(p, f->first + q, &i, &j, &pk);
    const char *tile = (const char *)s->partials +
                       ((size_t)f->slot * p->batch + q) * e->tile_elems * e->out_elem;
    for (int r = 0; r < p->mk; r++) {
      float *crow = s->c_host + (i * (size_t)p->mk + (size_t)r) * p->n_pad + j * (size_t)p->nk;
      for (int cidx = 0; cidx < p->nk; cidx++) {
        float v = partial_value(e, tile, (size_t)r * (size_t)p->nk + (size_t)cidx);
        crow[cidx] = pk == 0 ? v : crow[cidx] + v;
      }
    }
  }
}

static int finish(exec *e, inflight *f) {
  double t0 = tw_now();
  int rc = e->dev->iface->wait(e->dev, f->fence, &e->times);
  double t1 = tw_now();
  e->st->wait_s += t1 - t0;
  if (rc) return rc;
  if (e->p->host_k) {
    sum_partials(e, f);
    e->st->host_prep_s += tw_now() - t1;
  }
  return TW_OK;
}

static int run_queue(exec *e) {
  const tw_plan *p = e->p;
  tw_device *dev = e->dev;
  tw_cmd *cmds = e->stream->scratch.cmds;
  inflight fl[2];
  int live = 0, rc = TW_OK;
  size_t sub = 0;
  for (size_t first = 0; first < p->invocations && !rc; first += p->batch, sub++) {
    inflight *f = &fl[sub % 2];
    if (live == 2) {
      rc = finish(e, f); /* the submission that used this slot two steps ago */
      live--;
      if (rc) break;
    }
    f->first = first;
    f->count = p->invocations - first < p->batch ? p->invocations - first : p->batch;
    f->slot = (int)(sub % 2);
    size_t n = build_submission(e, f->first, f->count, f->slot, cmds);
    for (size_t c = 0; c < n; c++) {
      if (cmds[c].op == TW_CMD_WRITE) e->st->bytes_to_device += cmds[c].bytes;
      if (cmds[c].op == TW_CMD_READ) e->st->bytes_from_device += cmds[c].bytes;
    }
    rc = dev->iface->submit(dev, cmds, n, &f->fence);
    if (rc) break;
    live++;
    e->st->submissions++;
    e->st->invocations += f->count;
  }
  /* drain in order, even after an error, so no command touches freed memory */
  for (size_t q = sub >= (size_t)live ? sub - (size_t)live : 0; live > 0; q++, live--) {
    int r2 = finish(e, &fl[q % 2]);
    if (!rc) rc = r2;
  }
  return rc;
}

/* Host staging and device buffers big enough for the plan; a no-op when
 * the stream's scratch already is.  Called with the device lock held. */
static int grow_scratch(tw_stream *stream, const tw_plan *p, size_t m, size_t k) {
  tw_device *dev = stream->dev;
  tw_scratch *s = &stream->scratch;
  size_t out_elem = (dev->kernels[p->kernel].flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
  size_t tile_elems = (size_t)p->mk * (size_t)p->nk;
  size_t a_elems = p->m_pad * p->k_pad, c_elems = p->m_pad * p->n_pad;
  size_t partial_bytes = p->host_k ? 2 * p->batch * tile_elems * out_elem : 0;
  /* worst case per invocation: A write + kernel + C read */
  size_t cmd_bytes = 3 * p->batch * sizeof(tw_cmd);
  if (grow_host((void **)&s->a_host, &s->a_host_cap, a_elems * 2) ||
      grow_host((void **)&s->c_host, &s->c_host_cap, c_elems * sizeof(float)) ||
      grow_host(&s->partials, &s->partials_cap, partial_bytes) ||
      grow_host((void **)&s->cmds, &s->cmds_cap, cmd_bytes))
    return tw_err(&stream->err, TW_ENOMEM, "gemm %zux%zux%zu: out of host memory", m, k, p->n_pad);
  size_t c_dev_bytes = p->host_k ? partial_bytes : c_elems * out_elem;
  /* The planner budgets device memory for this call's buffers only: scratch
   * kept from an earlier call must not hold memory while the other grows. */
  if ((s->a_dev && s->a_dev->bytes < a_elems * 2) || (s->c_dev && s->c_dev->bytes < c_dev_bytes)) {
    dev->iface->buffer_free(dev, s->a_dev);
    dev->iface->buffer_free(dev, s->c_dev);
    s->a_dev = s->c_dev = NULL;
  }
  int rc = grow_dev(dev, &s->a_dev, a_elems * 2);
  if (!rc) rc = grow_dev(dev, &s->c_dev, c_dev_bytes);
  if (rc) return tw_err(&stream->err, rc, "gemm: device buffers: %s", dev->err.msg);
  return TW_OK;
}

int tw_scratch_reserve(tw_stream *stream, const tw_plan *p, size_t m, size_t k) {
  if (p->direct) return TW_OK;
  pthread_mutex_lock(&stream->dev->lock);
  int rc = grow_scratch(stream, p, m, k);
  pthread_mutex_unlock(&stream->dev->lock);
  return rc;
}

static int prepare_buffers(exec *e, size_t m, size_t k, const void *a, tw_dtype a_type,
                           size_t lda) {
  int rc = grow_scratch(e->stream, e->p, m, k);
  if (rc) return rc;
  rows_job job = {.e = e, .m = m, .k = k, .a = a, .a_type = a_type, .lda = lda};
  tw_threadpool_run(e->stream->pool, (e->p->m_pad + ROWS_PER_TASK - 1) / ROWS_PER_TASK,
                    convert_a_rows, &job);
  return TW_OK;
}

/* C_host (fp32, or bf16 when the kernel writes bf16) -> caller's C + bias. */
static void deliver_rows(void *arg, size_t task, int thread) {
  (void)thread;
  const rows_job *j = arg;
  const exec *e = j->e;
  const tw_plan *p = e->p;
  const float *bias = e->w->bias;
  const tw_scratch *s = &e->stream->scratch;
  int bf16_out = e->out_elem == 2 && !p->host_k;
  size_t end = (task + 1) * ROWS_PER_TASK < j->m ? (task + 1) * ROWS_PER_TASK : j->m;
  for (size_t i = task * ROWS_PER_TASK; i < end; i++) {
    float *crow = j->c + i * j->ldc;
    for (size_t col = 0; col < e->w->n; col++) {
      size_t idx = i * p->n_pad + col;
      float v = bf16_out ? tw_bf16_to_fp32(((const tw_bf16 *)s->c_host)[idx]) : s->c_host[idx];
      crow[col] = bias ? v + bias[col] : v;
    }
  }
}

static void deliver(exec *e, size_t m, float *c, size_t ldc) {
  rows_job job = {.e = e, .m = m, .c = c, .ldc = ldc};
  tw_threadpool_run(e->stream->pool, (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK, deliver_rows, &job);
}

static int run_direct(tw_stream *stream, size_t m, const void *a, tw_dtype a_type, size_t lda,
                      const tw_weight *w, float *c, size_t ldc, tw_dtype a_compute, int epilogue,
                      const tw_weight_cols_args *cols, tw_gemm_stats *st) {
  tw_device *dev = stream->dev;
  tw_errbuf dev_err = {{0}};
  tw_direct_gemm g = {.m = m, .k = w->k, .n = w->n, .a = a, .a_type = a_type, .lda = lda,
                      .a_compute = a_compute, .epilogue = epilogue, .cols_out = cols,
                      .weight = w->handle,
                      .bias = w->bias, .c = c,
                      .ldc = ldc, .pool = stream->pool, .stream = stream->dev_stream,
                      .err = &dev_err};
  double t0 = tw_now();
  int rc = dev->iface->gemm(dev, &g);
  st->compute_s = tw_now() - t0;
  if (rc) return tw_err(&stream->err, rc, "gemm on %s: %s", dev->name, dev_err.msg);
  st->invocations = 1;
  st->submissions = 1;
  return TW_OK;
}

int tw_execute(tw_stream *stream, const tw_plan *plan, size_t m, const void *a, tw_dtype a_type,
               size_t lda, const tw_weight *w, float *c, size_t ldc, tw_dtype a_compute,
               int epilogue, const tw_weight_cols_args *cols, tw_gemm_stats *st) {
  if (plan->direct)
    return run_direct(stream, m, a, a_type, lda, w, c, ldc, a_compute, epilogue, cols, st);
  exec e = {.stream = stream, .dev = stream->dev, .p = plan, .w = w, .st = st};
  e.out_elem = (stream->dev->kernels[plan->kernel].flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
  e.tile_elems = (size_t)plan->mk * (size_t)plan->nk;
  double t0 = tw_now();
  /* One command queue: this stream's buffers, uploads and kernels go
   * through it while other streams wait (see device.h). */
  pthread_mutex_lock(&e.dev->lock);
  int rc = prepare_buffers(&e, m, w->k, a, a_type, lda);
  if (rc) {
    pthread_mutex_unlock(&e.dev->lock);
    return rc;
  }
  st->host_prep_s += tw_now() - t0;
  rc = run_queue(&e);
  if (rc) rc = tw_err(&stream->err, rc, "gemm on %s: %s", e.dev->name, e.dev->err.msg);
  pthread_mutex_unlock(&e.dev->lock);
  st->transfer_s = e.times.transfer_s;
  st->compute_s = e.times.compute_s;
  st->modeled_device_s = e.times.modeled_s;
  if (rc) return rc;
  double t1 = tw_now();
  deliver(&e, m, c, ldc);
  st->host_prep_s += tw_now() - t1;
  return TW_OK;
}

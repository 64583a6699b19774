/* Weight preparation: convert and lay out once, keep resident on the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "core/mem.h"
#include "gemm/engine.h"

/* Sources may sit at any byte offset (ggml model files do not align tensor
 * data), so every element is read with memcpy. */
static float source_value(const void *data, tw_dtype dtype, size_t idx) {
  const unsigned char *bytes = data;
  if (dtype == TW_DTYPE_F32) {
    float f;
    memcpy(&f, bytes + idx * 4, 4);
    return f;
  }
  uint16_t h;
  memcpy(&h, bytes + idx * 2, 2);
  return dtype == TW_DTYPE_BF16 ? tw_bf16_to_fp32(h) : tw_fp16_to_fp32(h);
}

/* Rows of the padded bf16 copy, converted in blocks of 64 (K) rows over a
 * pool.  Transposed sources (N x K) are read 64 K-values at a time
 * so that both the reads and the 64 destination rows stay in cache. */
enum { CONVERT_ROWS = 64 };

typedef struct convert_job {
  const tw_weight *w;
  const void *data;
  size_t ld;
} convert_job;

static void convert_block(void *arg, size_t task, int thread) {
  (void)thread;
  const convert_job *job = arg;
  const tw_weight *w = job->w;
  size_t p0 = task * CONVERT_ROWS;
  size_t p1 = p0 + CONVERT_ROWS < w->k_pad ? p0 + CONVERT_ROWS : w->k_pad;
  size_t valid = p1 < w->k ? p1 : (p0 < w->k ? w->k : p0); /* rows [p0, valid) hold data */
  if (w->transposed) {
    for (size_t j = 0; j < w->n; j++)
      for (size_t p = p0; p < valid; p++)
        w->staging[p * w->n_pad + j] =
            tw_fp32_to_bf16(source_value(job->data, w->dtype, j * job->ld + p));
  }
  for (size_t p = p0; p < p1; p++) {
    tw_bf16 *row = w->staging + p * w->n_pad;
    if (p >= w->k) {
      memset(row, 0, w->n_pad * sizeof *row);
      continue;
    }
    if (!w->transposed) {
      if (w->dtype == TW_DTYPE_BF16) {
        memcpy(row, (const unsigned char *)job->data + p * job->ld * 2, w->n * sizeof *row);
      } else {
        for (size_t j = 0; j < w->n; j++)
          row[j] = tw_fp32_to_bf16(source_value(job->data, w->dtype, p * job->ld + j));
      }
    }
    memset(row + w->n, 0, (w->n_pad - w->n) * sizeof *row);
  }
}

void tw_weight_convert_bf16(tw_threadpool *pool, const tw_weight *w, const void *data, size_t ld) {
  convert_job job = {.w = w, .data = data, .ld = ld};
  tw_threadpool_run(pool, (w->k_pad + CONVERT_ROWS - 1) / CONVERT_ROWS, convert_block,
                    &job);
}

static int upload(tw_device *dev, const tw_weight *w, tw_errbuf *err);

static int check_desc(tw_device *dev, const tw_weight_desc *d, const char *name) {
  if (!d->data) return tw_err(&dev->err, TW_EINVAL, "weight %s: data is NULL", name);
  if (d->k == 0 || d->n == 0)
    return tw_err(&dev->err, TW_EINVAL, "weight %s: shape %zux%zu has a zero dimension", name,
                  d->k, d->n);
  if (d->dtype != TW_DTYPE_F32 && d->dtype != TW_DTYPE_BF16 && d->dtype != TW_DTYPE_F16)
    return tw_err(&dev->err, TW_EINVAL, "weight %s: unknown source dtype %d", name, (int)d->dtype);
  size_t row = d->transposed ? d->k : d->n, rows = d->transposed ? d->n : d->k;
  if (d->ld < row)
    return tw_err(&dev->err, TW_EINVAL,
                  "weight %s: leading dimension %zu is smaller than the row length %zu", name,
                  d->ld, row);
  size_t span;
  if (d->k > (1u << 30) || d->n > (1u << 30) || tw_mul_size(rows, d->ld, &span) ||
      tw_mul_size(span, 4, &span))
    return tw_err(&dev->err, TW_EOVERFLOW, "weight %s: %zux%zu (ld %zu) overflows", name, d->k,
                  d->n, d->ld);
  return TW_OK;
}

static int prepare_direct(tw_device *dev, tw_weight *w, const tw_weight_desc *d) {
  tw_weight_src src = {.data = d->data, .dtype = d->dtype, .k = d->k, .n = d->n, .ld = d->ld,
                       .storage = w->storage, .transposed = d->transposed};
  int rc = dev->iface->weight_prepare(dev, &src, &w->handle);
  if (rc) {
    char why[TW_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", dev->err.msg);
    return tw_err(&dev->err, rc, "weight %s: %s: %s", w->name, dev->name, why);
  }
  return TW_OK;
}

static int prepare_queued(tw_device *dev, tw_weight *w, const tw_weight_desc *d) {
  if (w->storage != TW_DTYPE_BF16)
    return tw_err(&dev->err, TW_EUNSUPPORTED, "weight %s: device %s stores weights as bf16 only",
                  w->name, dev->name);
  size_t km, nm;
  tw_plan_weight_padding(dev, &km, &nm);
  w->k_pad = (w->k + km - 1) / km * km;
  w->n_pad = (w->n + nm - 1) / nm * nm;
  size_t bytes;
  if (tw_mul3_size(w->k_pad, w->n_pad, 2, &bytes))
    return tw_err(&dev->err, TW_EOVERFLOW, "weight %s: padded size overflows", w->name);
  if (dev->costs.mem_bytes && bytes > dev->costs.mem_bytes)
    return tw_err(&dev->err, TW_EBUDGET,
                  "weight %s: %zu bytes do not fit in %s's %zu bytes of memory", w->name, bytes,
                  dev->name, dev->costs.mem_bytes);
  w->staging = tw_malloc_aligned(bytes);
  if (!w->staging) return tw_err(&dev->err, TW_ENOMEM, "weight %s: out of memory", w->name);
  int rc = dev->iface->buffer_alloc(dev, bytes, &w->buf);
  if (rc) {
    char why[TW_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", dev->err.msg);
    return tw_err(&dev->err, rc, "weight %s: %s", w->name, why);
  }
  atomic_fetch_add(&dev->resident_bytes, bytes);
  tw_weight_convert_bf16(dev->pool, w, d->data, d->ld);
  return upload(dev, w, &dev->err);
}

/* Preparation on queue devices runs commands, so it holds the device lock
 * like a product does; on packed devices the lock keeps the device's error
 * message and pool to one user. */
static int prepare_locked(tw_device *dev, const tw_weight_desc *d, tw_weight **out);

int tw_weight_prepare(tw_device *dev, const tw_weight_desc *d, tw_weight **out) {
  if (!out) return tw_err(dev ? &dev->err : NULL, TW_EINVAL, "tw_weight_prepare: out is NULL");
  *out = NULL;
  if (!dev) return tw_err(NULL, TW_EINVAL, "tw_weight_prepare: device is NULL");
  pthread_mutex_lock(&dev->lock);
  int rc = prepare_locked(dev, d, out);
  pthread_mutex_unlock(&dev->lock);
  return rc;
}

static int prepare_locked(tw_device *dev, const tw_weight_desc *d, tw_weight **out) {
  if (!d) return tw_err(&dev->err, TW_EINVAL, "tw_weight_prepare: descriptor is NULL");
  const char *name = d->name ? d->name : "(unnamed)";
  int rc = check_desc(dev, d, name);
  if (rc) return rc;
  tw_weight *w = tw_calloc_aligned(1, sizeof *w);
  if (!w) return tw_err(&dev->err, TW_ENOMEM, "weight %s: out of memory", name);
  w->dev = dev;
  w->k = d->k;
  w->n = d->n;
  w->dtype = d->dtype;
  w->transposed = d->transposed;
  w->storage = d->storage == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : d->storage;
  snprintf(w->name, sizeof w->name, "%s", name);
  if (w->storage != TW_DTYPE_BF16 && w->storage != TW_DTYPE_F32) {
    tw_weight_destroy(w);
    return tw_err(&dev->err, TW_EINVAL, "weight %s: storage must be F32 or BF16", name);
  }
  if (d->bias) {
    w->bias = tw_malloc_aligned(d->n * sizeof(float));
    if (!w->bias) {
      tw_weight_destroy(w);
      return tw_err(&dev->err, TW_ENOMEM, "weight %s: out of memory", name);
    }
    memcpy(w->bias, d->bias, d->n * sizeof(float));
  }
  rc = dev->layout == TW_LAYOUT_PACKED ? prepare_direct(dev, w, d) : prepare_queued(dev, w, d);
  if (rc) {
    tw_weight_destroy(w);
    return rc;
  }
  *out = w;
  return TW_OK;
}

/* Sends w->staging to the weight's device buffer; the caller holds the
 * device lock. */
static int upload(tw_device *dev, const tw_weight *w, tw_errbuf *err) {
  tw_cmd cmd = {.op = TW_CMD_WRITE, .buf = w->buf, .offset = 0, .bytes = w->buf->bytes,
                .src = w->staging};
  uint64_t fence;
  int rc = dev->iface->submit(dev, &cmd, 1, &fence);
  if (!rc) rc = dev->iface->wait(dev, fence, NULL);
  if (rc) {
    char why[TW_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", dev->err.msg);
    return tw_err(err, rc, "weight %s: upload: %s", w->name, why);
  }
  return TW_OK;
}

int tw_weight_update(tw_stream *s, tw_weight *w, const void *data, size_t ld) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_weight_update: stream is NULL");
  if (!w) return tw_err(&s->err, TW_EINVAL, "tw_weight_update: weight is NULL");
  if (w->dev != s->dev)
    return tw_err(&s->err, TW_EWRONGDEVICE, "weight %s was prepared on another device (%s)",
                  w->name, w->dev->name);
  if (!data) return tw_err(&s->err, TW_EINVAL, "weight %s: data is NULL", w->name);
  if (ld < (w->transposed ? w->k : w->n))
    return tw_err(&s->err, TW_EINVAL, "weight %s: leading dimension %zu is too small", w->name,
                  ld);
  tw_device *dev = w->dev;
  if (dev->layout == TW_LAYOUT_PACKED) {
    tw_weight_src src = {.data = data, .dtype = w->dtype, .k = w->k, .n = w->n, .ld = ld,
                         .storage = w->storage, .transposed = w->transposed};
    /* Only packed devices with an in-place update qualify for per-stream
     * weights; the fallback re-prepares, which touches the device. */
    if (!dev->iface->weight_update)
      return tw_err(&s->err, TW_EUNSUPPORTED, "weight %s: device %s cannot update in place",
                    w->name, dev->name);
    tw_errbuf dev_err = {{0}};
    int rc = dev->iface->weight_update(dev, &src, w->handle, &dev_err);
    if (rc) return tw_err(&s->err, rc, "weight %s: %s", w->name, dev_err.msg);
    return TW_OK;
  }
  tw_weight_convert_bf16(s->pool, w, data, ld);
  pthread_mutex_lock(&dev->lock);
  int rc = upload(dev, w, &s->err);
  pthread_mutex_unlock(&dev->lock);
  return rc;
}

typedef struct update_job {
  tw_stream *s;
  size_t n;
  tw_weight *const *w;
  const void *const *data;
  size_t ld;
  int *rc;
  tw_errbuf *errs; /* one per task */
} update_job;

static void update_task(void *arg, size_t task, int thread) {
  (void)thread;
  update_job *j = arg;
  for (size_t i = task; i < j->n; i += (size_t)tw_threadpool_size(j->s->pool)) {
    tw_weight *w = j->w[i];
    tw_weight_src src = {.data = j->data[i], .dtype = w->dtype, .k = w->k, .n = w->n,
                         .ld = j->ld, .storage = w->storage, .transposed = w->transposed};
    int rc = w->dev->iface->weight_update(w->dev, &src, w->handle, &j->errs[task]);
    if (rc) {
      j->rc[task] = rc;
      return;
    }
  }
}

int tw_weight_update_many(tw_stream *s, size_t n, tw_weight *const *w, const void *const *data,
                          size_t ld) {
  enum { MAX_TASKS = 64 };
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_weight_update: stream is NULL");
  int parallel = s->dev->layout == TW_LAYOUT_PACKED && s->dev->iface->weight_update &&
                 tw_threadpool_size(s->pool) <= MAX_TASKS;
  for (size_t i = 0; i < n && parallel; i++)
    parallel = w[i] && w[i]->dev == s->dev && data[i] && ld >= (w[i]->transposed ? w[i]->k : w[i]->n);
  if (!parallel) { /* the checks and messages of one at a time */
    for (size_t i = 0; i < n; i++) {
      int rc = tw_weight_update(s, w[i], data[i], ld);
      if (rc) return rc;
    }
    return TW_OK;
  }
  int rc[MAX_TASKS] = {0};
  tw_errbuf errs[MAX_TASKS];
  size_t tasks = (size_t)tw_threadpool_size(s->pool);
  if (tasks > n) tasks = n;
  for (size_t t = 0; t < tasks; t++) errs[t].msg[0] = '\0';
  update_job j = {.s = s, .n = n, .w = w, .data = data, .ld = ld, .rc = rc, .errs = errs};
  tw_threadpool_run(s->pool, tasks, update_task, &j);
  for (size_t t = 0; t < tasks; t++)
    if (rc[t]) return tw_err(&s->err, rc[t], "weight update: %s", errs[t].msg);
  return TW_OK;
}

void tw_weight_destroy(tw_weight *w) {
  if (!w) return;
  tw_device *dev = w->dev;
  if (w->handle && dev->iface->weight_release) dev->iface->weight_release(dev, w->handle);
  if (w->buf) {
    atomic_fetch_sub(&dev->resident_bytes, w->buf->bytes);
    pthread_mutex_lock(&dev->lock);
    dev->iface->buffer_free(dev, w->buf);
    pthread_mutex_unlock(&dev->lock);
  }
  tw_free(w->staging);
  tw_free(w->bias);
  tw_free(w);
}

size_t tw_weight_k(const tw_weight *w) { return w ? w->k : 0; }
size_t tw_weight_n(const tw_weight *w) { return w ? w->n : 0; }

int tw_weight_cols_handles(const tw_stream *s, size_t n, tw_weight *const *w, void **handles,
                           int *transposed) {
  if (n > TW_COLS_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    if (!w[i] || w[i]->dev != s->dev || !w[i]->handle || w[i]->dtype != TW_DTYPE_F32) return 0;
    handles[i] = w[i]->handle, transposed[i] = w[i]->transposed;
  }
  return 1;
}

int tw_weight_update_cols(tw_stream *s, size_t n, tw_weight *const *w, const float *data,
                          size_t ld, size_t rows, const size_t *col) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_weight_update_cols: stream is NULL");
  if (!data || !col || (n && !w)) return tw_err(&s->err, TW_EINVAL, "tw_weight_update_cols: NULL argument");
  for (size_t i = 0; i < n; i++) {
    if (!w[i]) return tw_err(&s->err, TW_EINVAL, "tw_weight_update_cols: weight %zu is NULL", i);
    const size_t wr = w[i]->transposed ? w[i]->n : w[i]->k, width = w[i]->transposed ? w[i]->k : w[i]->n;
    if (wr != rows || col[i] + width > ld)
      return tw_err(&s->err, TW_ESHAPE, "weight %s (%zu x %zu%s): not %zu source rows from "
                    "column %zu of %zu", w[i]->name, w[i]->k, w[i]->n,
                    w[i]->transposed ? ", transposed" : "", rows, col[i], ld);
  }
  tw_device *dev = s->dev;
  void *handles[TW_COLS_MAX];
  int transposed[TW_COLS_MAX];
  if (dev->layout == TW_LAYOUT_PACKED && dev->iface->weight_update_cols &&
      tw_weight_cols_handles(s, n, w, handles, transposed)) {
    tw_errbuf dev_err = {{0}};
    tw_weight_cols_args a = {.data = data, .ld = ld, .rows = rows, .n = n, .handles = handles,
                             .col = col, .transposed = transposed, .pool = s->pool,
                             .err = &dev_err};
    int rc = dev->iface->weight_update_cols(dev, &a);
    if (rc == TW_OK) return TW_OK;
    if (rc != TW_EUNSUPPORTED) return tw_err(&s->err, rc, "weight update: %s", dev_err.msg);
  }
  /* one weight at a time (spread over the pool where the device packs in
   * place), each from its column block */
  const void *src[TW_COLS_MAX];
  for (size_t i0 = 0; i0 < n; i0 += TW_COLS_MAX) {
    const size_t cnt = n - i0 < TW_COLS_MAX ? n - i0 : TW_COLS_MAX;
    for (size_t i = 0; i < cnt; i++) src[i] = data + col[i0 + i];
    int rc = tw_weight_update_many(s, cnt, w + i0, src, ld);
    if (rc) return rc;
  }
  return TW_OK;
}

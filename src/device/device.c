#include "device/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "kernels/tile.h"

tw_device *tw_device_alloc(const tw_device_iface *iface, const char *name) {
  tw_device *dev = tw_calloc_aligned(1, sizeof *dev);
  if (!dev) return NULL;
  if (pthread_mutex_init(&dev->lock, NULL)) {
    tw_free(dev);
    return NULL;
  }
  dev->iface = iface;
  dev->layout = iface->gemm ? TW_LAYOUT_PACKED : TW_LAYOUT_TILED;
  atomic_init(&dev->resident_bytes, 0);
  snprintf(dev->name, sizeof dev->name, "%s", name);
  return dev;
}

void tw_device_destroy(tw_device *dev) {
  if (!dev) return;
  if (dev->iface && dev->iface->destroy) dev->iface->destroy(dev);
  tw_threadpool_destroy(dev->own_pool);
  pthread_mutex_destroy(&dev->lock);
  tw_free(dev);
}

void tw_device_options_init(tw_device_options *opts) {
  if (!opts) return;
  memset(opts, 0, sizeof *opts);
  opts->name = "cpu";
}

const char *tw_device_last_error(const tw_device *dev) { return dev ? dev->err.msg : ""; }

int tw_device_query(const tw_device *dev, tw_device_info *out) {
  if (!dev || !out) return tw_err(NULL, TW_EINVAL, "tw_device_query: %s is NULL", dev ? "out" : "device");
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", dev->name);
  if (dev->iface->describe) dev->iface->describe(dev, out->detail, sizeof out->detail);
  if (dev->iface->calibration) dev->iface->calibration(dev, &out->calibration);
  const tw_device_costs *c = &dev->costs;
  out->invoke_s = c->invoke_s;
  out->submit_s = c->submit_s;
  out->h2d_bytes_per_s = c->h2d_bytes_per_s;
  out->d2h_bytes_per_s = c->d2h_bytes_per_s;
  out->flops_per_s = c->flops_per_s;
  out->mem_bytes = c->mem_bytes;
  out->resident_bytes = atomic_load(&((tw_device *)dev)->resident_bytes);
  out->max_batch = c->max_batch;
  out->host_memory = c->host_memory;
  out->packed_weights = dev->layout == TW_LAYOUT_PACKED;
  out->n_kernels = dev->n_kernels < TW_DEVICE_MAX_KERNELS ? dev->n_kernels : TW_DEVICE_MAX_KERNELS;
  for (int i = 0; i < out->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    tw_kernel_desc *kd = &out->kernels[i];
    snprintf(kd->name, sizeof kd->name, "%s", ki->name);
    kd->m = ki->mk;
    kd->k = ki->kk;
    kd->n = ki->nk;
    kd->any_shape = (ki->flags & TW_KERNEL_ANY_SHAPE) != 0;
    kd->accumulates_k = (ki->flags & TW_KERNEL_ACCUM_K) != 0;
    kd->bf16_out = (ki->flags & TW_KERNEL_OUT_BF16) != 0;
    kd->dev_mem_bytes = ki->dev_mem_bytes;
    kd->flops_per_s = ki->flops_per_s;
  }
  return TW_OK;
}

static int parse_dim(const char **s, int *out) {
  char *end;
  long v = strtol(*s, &end, 10);
  if (end == *s || v <= 0 || v > (1L << 20)) return -1;
  *out = (int)v;
  *s = end;
  return 0;
}

int tw_kernel_spec_parse(tw_device *dev, const char *spec) {
  dev->n_kernels = 0;
  const char *s = spec;
  while (*s) {
    if (dev->n_kernels == TW_MAX_KERNELS)
      return tw_err(&dev->err, TW_EINVAL, "kernel set '%s': more than %d kernels", spec,
                    TW_MAX_KERNELS);
    tw_kernel_info *ki = &dev->kernels[dev->n_kernels];
    memset(ki, 0, sizeof *ki);
    const char *start = s;
    if (parse_dim(&s, &ki->mk) || *s++ != 'x' || parse_dim(&s, &ki->kk) || *s++ != 'x' ||
        parse_dim(&s, &ki->nk))
      return tw_err(&dev->err, TW_EINVAL,
                    "kernel set '%s': bad shape at offset %zu (expected MxKxN[a][b])", spec,
                    (size_t)(start - spec));
    while (*s == 'a' || *s == 'b') {
      ki->flags |= *s == 'a' ? TW_KERNEL_ACCUM_K : TW_KERNEL_OUT_BF16;
      s++;
    }
    if (*s && *s != ',')
      return tw_err(&dev->err, TW_EINVAL, "kernel set '%s': unexpected '%c' at offset %zu",
                    spec, *s, (size_t)(s - spec));
    snprintf(ki->name, sizeof ki->name, "%.*s", (int)(s - start), start);
    size_t out_elem = (ki->flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
    ki->dev_mem_bytes = 2 * ((size_t)ki->mk * (size_t)ki->kk + (size_t)ki->kk * (size_t)ki->nk) +
                        out_elem * (size_t)ki->mk * (size_t)ki->nk;
    dev->n_kernels++;
    if (*s == ',') s++;
  }
  if (dev->n_kernels == 0) return tw_err(&dev->err, TW_EINVAL, "kernel set is empty");
  return TW_OK;
}

/* Last byte a row-major r x c matrix at `off` with leading dimension ld
 * touches, without overflow; returns -1 if it does not fit in `bytes`. */
static int extent_ok(size_t off, size_t rows, size_t cols, size_t ld, size_t elem, size_t bytes) {
  if (rows == 0 || cols == 0) return 1;
  if (cols > ld) return 0;
  size_t span;
  if (tw_mul_size(rows - 1, ld, &span)) return 0;
  span += cols;
  if (tw_mul_size(span, elem, &span)) return 0;
  return off <= bytes && span <= bytes - off;
}

int tw_cmd_validate(const tw_device *dev, const tw_cmd *cmd) {
  tw_errbuf *e = (tw_errbuf *)&dev->err;
  switch (cmd->op) {
    case TW_CMD_WRITE:
    case TW_CMD_READ: {
      const char *what = cmd->op == TW_CMD_WRITE ? "write" : "read";
      if (!cmd->buf || (cmd->op == TW_CMD_WRITE ? !cmd->src : !cmd->dst))
        return tw_err(e, TW_EINVAL, "%s: %s: NULL buffer or host pointer", dev->name, what);
      if (cmd->offset > cmd->buf->bytes || cmd->bytes > cmd->buf->bytes - cmd->offset)
        return tw_err(e, TW_EBOUNDS,
                      "%s: %s of %zu bytes at offset %zu is outside the %zu-byte buffer",
                      dev->name, what, cmd->bytes, cmd->offset, cmd->buf->bytes);
      return TW_OK;
    }
    case TW_CMD_KERNEL: {
      if (cmd->kernel < 0 || cmd->kernel >= dev->n_kernels)
        return tw_err(e, TW_EINVAL, "%s: kernel index %d not in the kernel set", dev->name,
                      cmd->kernel);
      const tw_kernel_info *ki = &dev->kernels[cmd->kernel];
      int any = (ki->flags & TW_KERNEL_ANY_SHAPE) != 0;
      if (any ? (cmd->m <= 0 || cmd->k <= 0 || cmd->n <= 0 || (ki->mk && cmd->m > ki->mk) ||
                 (ki->kk && cmd->k > ki->kk) || (ki->nk && cmd->n > ki->nk))
              : (cmd->m != ki->mk || cmd->k != ki->kk || cmd->n != ki->nk))
        return tw_err(e, TW_ESHAPE, "%s: kernel %s cannot run a %dx%dx%d problem", dev->name,
                      ki->name, cmd->m, cmd->k, cmd->n);
      if (cmd->accumulate && !(ki->flags & TW_KERNEL_ACCUM_K))
        return tw_err(e, TW_EUNSUPPORTED, "%s: kernel %s does not accumulate over K", dev->name,
                      ki->name);
      if (!cmd->a || !cmd->b || !cmd->c)
        return tw_err(e, TW_EINVAL, "%s: kernel %s: NULL buffer", dev->name, ki->name);
      size_t c_elem = (ki->flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
      if (!extent_ok(cmd->a_off, (size_t)cmd->m, (size_t)cmd->k, cmd->lda, 2, cmd->a->bytes) ||
          !extent_ok(cmd->b_off, (size_t)cmd->k, (size_t)cmd->n, cmd->ldb, 2, cmd->b->bytes) ||
          !extent_ok(cmd->c_off, (size_t)cmd->m, (size_t)cmd->n, cmd->ldc, c_elem, cmd->c->bytes))
        return tw_err(e, TW_EBOUNDS, "%s: kernel %s: an operand reaches outside its buffer",
                      dev->name, ki->name);
      if ((cmd->a_off | cmd->b_off) % 2 || cmd->c_off % c_elem)
        return tw_err(e, TW_EINVAL, "%s: kernel %s: misaligned operand offset", dev->name,
                      ki->name);
      return TW_OK;
    }
  }
  return tw_err(e, TW_EINVAL, "%s: unknown command %d", dev->name, (int)cmd->op);
}

int tw_option_get(const char *options, const char *key, char *value, size_t cap) {
  if (!options || !key) return 0;
  size_t klen = strlen(key);
  const char *s = options;
  while (*s) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
      snprintf(value, cap, "%.*s", (int)(len - klen - 1), s + klen + 1);
      return 1;
    }
    if (!end) break;
    s = end + 1;
  }
  return 0;
}

/* "a, b, c" into buf, or "none". */
static void list_keys(const char *const *keys, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (int i = 0; keys[i] && o < cap; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", keys[i]);
  if (!keys[0]) snprintf(buf, cap, "none");
}

int tw_device_options_check(const char *device, const char *options, const char *const *keys,
                            tw_errbuf *err) {
  char valid[512];
  for (const char *s = options; s && *s;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    int known = 0;
    for (int i = 0; keys[i] && !known; i++)
      known = strlen(keys[i]) == klen && strncmp(keys[i], s, klen) == 0;
    if (len && (!eq || !known)) {
      list_keys(keys, valid, sizeof valid);
      if (!known)
        return tw_err(err, TW_EINVAL, "%s: unknown device option '%.*s' (valid options: %s)",
                      device, (int)klen, s, valid);
      return tw_err(err, TW_EINVAL, "%s: device option '%.*s' needs a value (%.*s=VALUE)",
                    device, (int)klen, s, (int)klen, s);
    }
    s = end ? end + 1 : NULL;
  }
  return TW_OK;
}

int tw_option_number(const char *options, const char *key, double *value) {
  char v[64];
  if (!tw_option_get(options, key, v, sizeof v)) return 0;
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || d != d) return -1;
  *value = d;
  return 1;
}

int tw_host_buffer_alloc(tw_device *dev, size_t bytes, tw_dbuf **out) {
  *out = NULL;
  tw_dbuf *b = tw_calloc_aligned(1, sizeof *b);
  void *mem = b ? tw_calloc_aligned(bytes ? bytes : 1, 1) : NULL;
  if (!mem) {
    tw_free(b);
    return tw_err(&dev->err, TW_ENOMEM, "%s: cannot allocate a %zu-byte buffer", dev->name, bytes);
  }
  b->bytes = bytes;
  b->host = mem;
  *out = b;
  return TW_OK;
}

void tw_host_buffer_free(tw_device *dev, tw_dbuf *buf) {
  (void)dev;
  if (!buf) return;
  tw_free(buf->host);
  tw_free(buf);
}

int tw_host_cmd_run(tw_device *dev, const tw_cmd *cmd) {
  int rc = tw_cmd_validate(dev, cmd);
  if (rc) return rc;
  switch (cmd->op) {
    case TW_CMD_WRITE:
      memcpy((char *)cmd->buf->host + cmd->offset, cmd->src, cmd->bytes);
      break;
    case TW_CMD_READ:
      memcpy(cmd->dst, (const char *)cmd->buf->host + cmd->offset, cmd->bytes);
      break;
    case TW_CMD_KERNEL: {
      const tw_kernel_info *ki = &dev->kernels[cmd->kernel];
      const tw_bf16 *a = (const tw_bf16 *)((const char *)cmd->a->host + cmd->a_off);
      const tw_bf16 *b = (const tw_bf16 *)((const char *)cmd->b->host + cmd->b_off);
      void *c = (char *)cmd->c->host + cmd->c_off;
      if (ki->flags & TW_KERNEL_OUT_BF16)
        tw_tile_gemm_bf16_out_bf16(cmd->m, cmd->k, cmd->n, a, cmd->lda, b, cmd->ldb, c, cmd->ldc,
                                   cmd->accumulate);
      else
        tw_tile_gemm_bf16(cmd->m, cmd->k, cmd->n, a, cmd->lda, b, cmd->ldb, c, cmd->ldc,
                          cmd->accumulate);
      break;
    }
  }
  return TW_OK;
}

int tw_sync_submit(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence) {
  tw_sync_state *st = dev->impl;
  for (size_t i = 0; i < n; i++) {
    const tw_cmd *cmd = &cmds[i];
    double t0 = tw_now();
    int rc;
    if (cmd->op == TW_CMD_KERNEL && st->kernel) {
      if ((rc = tw_cmd_validate(dev, cmd)) == TW_OK) st->kernel(cmd);
    } else {
      rc = tw_host_cmd_run(dev, cmd);
    }
    if (rc) return rc;
    double dt = tw_now() - t0;
    if (cmd->op == TW_CMD_KERNEL)
      st->pending.compute_s += dt;
    else
      st->pending.transfer_s += dt;
  }
  *fence = ++st->fence;
  return TW_OK;
}

int tw_sync_wait(tw_device *dev, uint64_t fence, tw_exec_times *times) {
  tw_sync_state *st = dev->impl;
  (void)fence;
  if (times) {
    times->transfer_s += st->pending.transfer_s;
    times->compute_s += st->pending.compute_s;
  }
  st->pending = (tw_exec_times){0};
  return TW_OK;
}

void tw_sync_destroy(tw_device *dev) { tw_free(dev->impl); }

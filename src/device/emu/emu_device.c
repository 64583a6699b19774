/* `emu`: an emulated fixed-shape BF16 accelerator with an asynchronous queue.
 *
 * The host enqueues submissions (lists of WRITE / KERNEL / READ commands);
 * one device thread runs them in order; the host waits on a fence, a
 * monotonic counter.  Device memory is the device's own: buffers are private
 * allocations (tw_dbuf.host is NULL) reached only through copy commands, and
 * their total is capped by mem_mb.  Kernels are fixed shapes (see
 * docs/device-interface.md); each one's A + B + C tiles must fit the
 * per-kernel local memory budget kernel_kb or the device refuses to be
 * created.  Every command adds *modeled* time from the active cost profile
 * (profile.h) and, with call_us, a real delay per invocation.
 *
 * Options ("key=value,..."):
 *   profile=seed (default), xdna1 or custom; overrides invoke_us, submit_us,
 *                   gbps, gflops (profile.h)
 *   mem_mb=512      device memory capacity
 *   kernel_kb=2048  local memory one invocation's tiles may take: XDNA1's
 *                   four 512 KiB memory tiles (L2) hold a kernel's operands;
 *                   a 512x512x512 fp32-out kernel fills it exactly
 *   large=1         adds 512x512x512a and the whole-problem 3008x512x512a
 *                   and lifts the kernel_kb default to 16384: a what-if
 *                   larger part (no XDNA1 kernel can hold 9.5 MiB of tiles)
 *   call_us=0       real delay per invocation (busy-wait/sleep) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/emu/emu_queue.h"
#include "device/emu/profile.h"
#include "device/registry.h"
#include "core/mem.h"

#define EMU_LARGE_KERNELS "512x512x512a,3008x512x512a"
#define EMU_DEFAULT_MEM_MB 512
#define EMU_DEFAULT_KERNEL_KB 2048
#define EMU_LARGE_KERNEL_KB 16384

static int emu_buffer_alloc(tw_device *dev, size_t bytes, tw_dbuf **out) {
  emu_state *st = dev->impl;
  *out = NULL;
  emu_buf *b = tw_calloc_aligned(1, sizeof *b);
  void *mem = b ? tw_calloc_aligned(bytes ? bytes : 1, 1) : NULL;
  if (!mem) {
    tw_free(b);
    return tw_err(&dev->err, TW_ENOMEM, "emu: out of host memory for a %zu-byte buffer", bytes);
  }
  pthread_mutex_lock(&st->mu);
  size_t used = st->mem_used;
  int fits = bytes <= st->mem_cap && used <= st->mem_cap - bytes;
  if (fits) {
    st->mem_used += bytes;
    b->next = st->buffers;
    if (st->buffers) st->buffers->prev = b;
    st->buffers = b;
  }
  pthread_mutex_unlock(&st->mu);
  if (!fits) {
    tw_free(mem);
    tw_free(b);
    return tw_err(&dev->err, TW_EBUDGET,
                  "emu: cannot allocate %zu bytes of device memory: %zu of %zu bytes in use "
                  "(option mem_mb)",
                  bytes, used, st->mem_cap);
  }
  b->dbuf.bytes = bytes;
  b->dbuf.impl = mem;
  *out = &b->dbuf;
  return TW_OK;
}

static void emu_buffer_free(tw_device *dev, tw_dbuf *buf) {
  if (!buf) return;
  emu_state *st = dev->impl;
  emu_buf *b = (emu_buf *)buf; /* dbuf is the first member */
  pthread_mutex_lock(&st->mu);
  st->mem_used -= buf->bytes;
  if (b->prev) b->prev->next = b->next;
  else st->buffers = b->next;
  if (b->next) b->next->prev = b->prev;
  pthread_mutex_unlock(&st->mu);
  tw_free(buf->impl);
  tw_free(b);
}

static void emu_destroy(tw_device *dev) {
  emu_queue_destroy(dev->impl);
  dev->impl = NULL;
}

static const tw_device_iface emu_iface = {
    .destroy = emu_destroy,
    .buffer_alloc = emu_buffer_alloc,
    .buffer_free = emu_buffer_free,
    .submit = emu_queue_submit,
    .wait = emu_queue_wait,
};

/* Reads a non-negative integer option; -1 when malformed. */
static long long int_option(const char *options, const char *key, long long fallback) {
  char v[64];
  if (!tw_option_get(options, key, v, sizeof v)) return fallback;
  char *end;
  long long x = strtoll(v, &end, 10);
  return (end != v && *end == '\0' && x >= 0 && x <= (1LL << 40)) ? x : -1;
}

static int parse_kernels(tw_device *dev, const tw_device_config *cfg, int large,
                         size_t budget) {
  const char *base = cfg && cfg->kernels ? cfg->kernels : TW_DEFAULT_FIXED_KERNELS;
  char spec[512];
  int len = snprintf(spec, sizeof spec, "%s%s%s", base, large ? "," : "",
                     large ? EMU_LARGE_KERNELS : "");
  if (len < 0 || (size_t)len >= sizeof spec)
    return tw_err(&dev->err, TW_EINVAL, "emu: kernel set '%s' is too long", base);
  int rc = tw_kernel_spec_parse(dev, spec);
  if (rc) return tw_err(&dev->err, rc, "emu: %s", dev->err.msg);
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    if (ki->dev_mem_bytes > budget) {
      size_t out_elem = (ki->flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
      return tw_err(&dev->err, TW_EBUDGET,
                    "emu: kernel %s refused: its tiles need %zu KiB of kernel-local memory "
                    "(A %zu + B %zu + C %zu bytes), over the per-kernel budget of %zu KiB "
                    "(option kernel_kb)",
                    ki->name, (ki->dev_mem_bytes + 1023) / 1024,
                    (size_t)ki->mk * (size_t)ki->kk * 2, (size_t)ki->kk * (size_t)ki->nk * 2,
                    (size_t)ki->mk * (size_t)ki->nk * out_elem, budget / 1024);
    }
  }
  return TW_OK;
}

static int configure(tw_device *dev, const tw_device_config *cfg, emu_state *st) {
  const char *opts = cfg ? cfg->options : NULL;
  long long large = int_option(opts, "large", 0);
  long long mem_mb = int_option(opts, "mem_mb", EMU_DEFAULT_MEM_MB);
  long long kernel_kb =
      int_option(opts, "kernel_kb", large ? EMU_LARGE_KERNEL_KB : EMU_DEFAULT_KERNEL_KB);
  long long call_us = int_option(opts, "call_us", 0);
  if (large < 0 || large > 1 || mem_mb <= 0 || kernel_kb <= 0 || call_us < 0)
    return tw_err(&dev->err, TW_EINVAL,
                  "emu: options '%s': large is 0 or 1; mem_mb and kernel_kb are positive "
                  "integers; call_us a non-negative integer",
                  opts);
  int rc = tw_emu_profile_from_options(opts, &st->profile, &dev->err);
  if (rc) return rc;
  rc = parse_kernels(dev, cfg, (int)large, (size_t)kernel_kb * 1024);
  if (rc) return rc;
  st->mem_cap = (size_t)mem_mb << 20;
  st->call_s = (double)call_us * 1e-6;
  tw_emu_profile_costs(&st->profile, &dev->costs);
  dev->costs.mem_bytes = st->mem_cap;
  dev->costs.max_batch = 0;
  dev->costs.overlap = 1;     /* the device thread runs while the host prepares */
  dev->costs.host_memory = 0; /* its buffers are not host-addressable */
  return TW_OK;
}

/* emu_device.c reads the first four, profile.c the rest */
const char *const tw_emu_option_keys[] = {"large",     "mem_mb",    "kernel_kb", "call_us", "profile",
                                          "invoke_us", "submit_us", "gbps",      "gflops",  NULL};

int tw_emu_device_create(const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  tw_device *dev = tw_device_alloc(&emu_iface, "emu");
  if (!dev) return tw_err(NULL, TW_ENOMEM, "emu: out of memory");
  emu_state *st = tw_calloc_aligned(1, sizeof *st);
  if (!st) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "emu: out of memory");
  }
  int rc = configure(dev, cfg, st);
  if (!rc) {
    /* the device thread reports through its own copy of the kernel set */
    st->shadow = *dev;
    st->shadow.impl = NULL;
    rc = emu_queue_start(st);
    if (rc) tw_err(&dev->err, rc, "emu: cannot start the device thread");
  }
  if (rc) {
    tw_err(NULL, rc, "%s", dev->err.msg);
    tw_free(st);
    tw_device_destroy(dev);
    return rc;
  }
  dev->impl = st;
  dev->pool = cfg ? cfg->pool : NULL;
  *out = dev;
  return TW_OK;
}

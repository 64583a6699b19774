/* `opencl`: fixed-shape BF16 tile kernels on a real accelerator runtime.
 *
 * One context and one in-order command queue, created once.  Device buffers
 * are cl_mem objects (buffer_alloc); the engine keeps weights resident in
 * them and moves A and C with explicit, non-blocking copies.  submit()
 * enqueues a command list (write / kernel / read, in order, one event each)
 * and returns a fence; wait() blocks on the fence's last event, reports the
 * first failed command and adds the events' profiled times.
 *
 * The kernel set is data: each shape is its own program (ocl_program.c), the
 * default is the seed's three fixed tiles plus "any", the tiled whole-matrix
 * kernel that takes sizes at run time and accumulates.  Costs are measured
 * at creation (ocl_calib.c).  Options ("key=value,..."):
 *   tiling=cpu|gpu  work-item tiling (default: gpu on GPUs and accelerators):
 *                   cpu = 6 x 64 outputs per work-item in float16 vectors,
 *                   one work-item per group, B through the caches;
 *                   gpu = 4 x 8 outputs per work-item in float4 vectors,
 *                   16 x 16 groups staging 16-deep chunks of B in local memory
 *   local=0|1       stage B in local memory (default: as the tiling says)
 *   cache=0|1       use the on-disk binary and calibration cache (default 1)
 *   cache_dir=PATH  where (default $XDG_CACHE_HOME/tilewhisper or
 *                   ~/.cache/tilewhisper)
 *   calibrate=1     measure again even when a cached calibration exists
 *   build_options=S extra clBuildProgram options */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device/opencl/ocl.h"
#include "device/registry.h"
#include "core/mem.h"

#define OCL_ANY_NAME "any"

static void ocl_destroy(tw_device *dev) {
  tw_ocl *o = dev->impl;
  if (!o) return;
  if (o->queue) clFinish(o->queue);
  for (size_t s = 0; s < o->n_subs; s++) {
    for (size_t i = 0; i < o->subs[s].n; i++) clReleaseEvent(o->subs[s].ev[i]);
    tw_free(o->subs[s].ev);
    tw_free(o->subs[s].is_kernel);
  }
  tw_free(o->subs);
  for (int i = 0; i < TW_MAX_KERNELS; i++) tw_ocl_program_release(&o->kernels[i]);
  if (o->empty) clReleaseKernel(o->empty);
  if (o->queue) clReleaseCommandQueue(o->queue);
  if (o->ctx) clReleaseContext(o->ctx);
  tw_free(o);
  dev->impl = NULL;
}

static int ocl_buffer_alloc(tw_device *dev, size_t bytes, tw_dbuf **out) {
  tw_ocl *o = dev->impl;
  *out = NULL;
  if (bytes == 0) bytes = 1;
  if (o->max_alloc && bytes > o->max_alloc)
    return tw_err(&dev->err, TW_EBUDGET,
                  "%s: a %zu-byte buffer exceeds the device's largest allocation (%llu bytes)",
                  dev->name, bytes, (unsigned long long)o->max_alloc);
  tw_dbuf *b = tw_calloc_aligned(1, sizeof *b);
  if (!b) return tw_err(&dev->err, TW_ENOMEM, "%s: out of memory", dev->name);
  cl_int rc;
  cl_mem mem = clCreateBuffer(o->ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
  if (!mem) {
    tw_free(b);
    char what[64];
    snprintf(what, sizeof what, "%zu bytes", bytes);
    return tw_ocl_fail(&dev->err, "clCreateBuffer", rc, what);
  }
  b->bytes = bytes;
  b->impl = mem;
  *out = b;
  return TW_OK;
}

static void ocl_buffer_free(tw_device *dev, tw_dbuf *buf) {
  (void)dev;
  if (!buf) return;
  if (buf->impl) clReleaseMemObject((cl_mem)buf->impl);
  tw_free(buf);
}

/* Offsets and leading dimensions travel as 32-bit element counts. */
static int fits_u32(const tw_device *dev, const tw_cmd *c) {
  size_t lim = 0xffffffffu;
  int ok = c->a_off / 2 <= lim && c->b_off / 2 <= lim && c->c_off / 4 <= lim && c->lda <= lim &&
           c->ldb <= lim && c->ldc <= lim && c->a->bytes / 2 <= lim && c->b->bytes / 2 <= lim &&
           c->c->bytes / 4 <= lim;
  if (!ok)
    tw_err((tw_errbuf *)&dev->err, TW_EUNSUPPORTED,
           "%s: kernel %s: operands beyond 2^32 elements are not supported", dev->name,
           dev->kernels[c->kernel].name);
  return ok;
}

static cl_int enqueue_kernel(tw_ocl *o, const tw_cmd *c, cl_event *ev) {
  const tw_ocl_kernel *k = &o->kernels[c->kernel];
  cl_mem a = c->a->impl, b = c->b->impl, cm = c->c->impl;
  cl_uint a_off = (cl_uint)(c->a_off / 2), b_off = (cl_uint)(c->b_off / 2),
          c_off = (cl_uint)(c->c_off / 4);
  cl_uint lda = (cl_uint)c->lda, ldb = (cl_uint)c->ldb, ldc = (cl_uint)c->ldc;
  cl_int m = c->m, kk = c->k, n = c->n, acc = c->accumulate;
  cl_int rc = CL_SUCCESS;
  rc |= clSetKernelArg(k->kern, 0, sizeof a, &a);
  rc |= clSetKernelArg(k->kern, 1, sizeof a_off, &a_off);
  rc |= clSetKernelArg(k->kern, 2, sizeof lda, &lda);
  rc |= clSetKernelArg(k->kern, 3, sizeof b, &b);
  rc |= clSetKernelArg(k->kern, 4, sizeof b_off, &b_off);
  rc |= clSetKernelArg(k->kern, 5, sizeof ldb, &ldb);
  rc |= clSetKernelArg(k->kern, 6, sizeof cm, &cm);
  rc |= clSetKernelArg(k->kern, 7, sizeof c_off, &c_off);
  rc |= clSetKernelArg(k->kern, 8, sizeof ldc, &ldc);
  rc |= clSetKernelArg(k->kern, 9, sizeof m, &m);
  rc |= clSetKernelArg(k->kern, 10, sizeof kk, &kk);
  rc |= clSetKernelArg(k->kern, 11, sizeof n, &n);
  rc |= clSetKernelArg(k->kern, 12, sizeof acc, &acc);
  if (rc != CL_SUCCESS) return CL_INVALID_KERNEL_ARGS;
  size_t gws[2];
  tw_ocl_global_size(k, c->m, c->n, gws);
  return clEnqueueNDRangeKernel(o->queue, k->kern, 2, NULL, gws, k->lws[0] ? k->lws : NULL, 0,
                                NULL, ev);
}

static void release_sub(tw_ocl_sub *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->ev[i]) clReleaseEvent(s->ev[i]);
  tw_free(s->ev);
  tw_free(s->is_kernel);
  memset(s, 0, sizeof *s);
}

static int ocl_submit(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence) {
  tw_ocl *o = dev->impl;
  for (size_t i = 0; i < n; i++) { /* nothing is enqueued unless all are valid */
    int rc = tw_cmd_validate(dev, &cmds[i]);
    if (rc) return rc;
    if (cmds[i].op == TW_CMD_KERNEL && !fits_u32(dev, &cmds[i])) return TW_EUNSUPPORTED;
  }
  if (o->n_subs == o->cap_subs) {
    size_t cap = o->cap_subs ? 2 * o->cap_subs : 8;
    tw_ocl_sub *fresh = tw_calloc_aligned(cap, sizeof *fresh);
    if (!fresh) return tw_err(&dev->err, TW_ENOMEM, "%s: out of memory", dev->name);
    if (o->n_subs) memcpy(fresh, o->subs, o->n_subs * sizeof *fresh);
    tw_free(o->subs);
    o->subs = fresh;
    o->cap_subs = cap;
  }
  tw_ocl_sub s = {.fence = o->next_fence + 1, .n = 0};
  s.ev = tw_calloc_aligned(n ? n : 1, sizeof *s.ev);
  s.is_kernel = tw_calloc_aligned(n ? n : 1, 1);
  if (!s.ev || !s.is_kernel) {
    release_sub(&s);
    return tw_err(&dev->err, TW_ENOMEM, "%s: out of memory", dev->name);
  }
  for (size_t i = 0; i < n; i++) {
    const tw_cmd *c = &cmds[i];
    cl_int rc;
    const char *call;
    if (c->op == TW_CMD_WRITE) {
      call = "clEnqueueWriteBuffer";
      rc = clEnqueueWriteBuffer(o->queue, c->buf->impl, CL_FALSE, c->offset, c->bytes, c->src, 0,
                                NULL, &s.ev[i]);
    } else if (c->op == TW_CMD_READ) {
      call = "clEnqueueReadBuffer";
      rc = clEnqueueReadBuffer(o->queue, c->buf->impl, CL_FALSE, c->offset, c->bytes, c->dst, 0,
                               NULL, &s.ev[i]);
    } else {
      call = "clEnqueueNDRangeKernel";
      s.is_kernel[i] = 1;
      rc = enqueue_kernel(o, c, &s.ev[i]);
    }
    if (rc != CL_SUCCESS) {
      /* commands already queued may still touch host memory: drain them */
      clFinish(o->queue);
      release_sub(&s);
      return tw_ocl_fail(&dev->err, call, rc,
                         c->op == TW_CMD_KERNEL ? dev->kernels[c->kernel].name : NULL);
    }
    s.n = i + 1;
  }
  clFlush(o->queue);
  o->subs[o->n_subs++] = s;
  *fence = ++o->next_fence;
  return TW_OK;
}

static double event_seconds(cl_event ev) {
  cl_ulong t0 = 0, t1 = 0;
  if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) != CL_SUCCESS ||
      clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS ||
      t1 < t0)
    return 0.0;
  return (double)(t1 - t0) * 1e-9;
}

static int ocl_wait(tw_device *dev, uint64_t fence, tw_exec_times *times) {
  tw_ocl *o = dev->impl;
  size_t done = 0;
  while (done < o->n_subs && o->subs[done].fence <= fence) done++;
  if (done == 0) return TW_OK;
  int status = TW_OK;
  /* the queue is in order: the last event of the newest submission covers all */
  const tw_ocl_sub *last = &o->subs[done - 1];
  cl_int rc = last->n ? clWaitForEvents(1, &last->ev[last->n - 1]) : clFinish(o->queue);
  if (rc != CL_SUCCESS) {
    clFinish(o->queue);
    status = tw_ocl_fail(&dev->err, "clWaitForEvents", rc, "a queued command failed");
  }
  for (size_t s = 0; s < done; s++) {
    tw_ocl_sub *sub = &o->subs[s];
    for (size_t i = 0; i < sub->n; i++) {
      cl_int st = CL_COMPLETE;
      clGetEventInfo(sub->ev[i], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
      if (st < 0 && status == TW_OK)
        status = tw_ocl_fail(&dev->err, sub->is_kernel[i] ? "clEnqueueNDRangeKernel"
                                                          : "clEnqueueRead/WriteBuffer",
                             st, "the command failed while running");
      if (times && o->profiling) {
        double t = event_seconds(sub->ev[i]);
        if (sub->is_kernel[i]) times->compute_s += t;
        else times->transfer_s += t;
      }
    }
    release_sub(sub);
  }
  memmove(o->subs, o->subs + done, (o->n_subs - done) * sizeof *o->subs);
  o->n_subs -= done;
  return status;
}

static const tw_device_iface ocl_iface = {
    .destroy = ocl_destroy,
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .submit = ocl_submit,
    .wait = ocl_wait,
};

/* Option cache_dir, else $XDG_CACHE_HOME/tilewhisper or
 * ~/.cache/tilewhisper, created if missing; left empty (no caching) when
 * none is usable. */
static void cache_dir(tw_ocl *o, const char *opts) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char base[440];
  o->cache_dir[0] = '\0';
  if (tw_option_get(opts, "cache_dir", base, sizeof base) && base[0]) {
    mkdir(base, 0700);
    snprintf(o->cache_dir, sizeof o->cache_dir, "%s", base);
    return;
  }
  if (xdg && *xdg) snprintf(base, sizeof base, "%s", xdg);
  else if (home && *home) snprintf(base, sizeof base, "%s/.cache", home);
  else return;
  mkdir(base, 0700);
  snprintf(o->cache_dir, sizeof o->cache_dir, "%s/tilewhisper", base);
  struct stat st;
  if (mkdir(o->cache_dir, 0700) != 0 && (stat(o->cache_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    o->cache_dir[0] = '\0';
}

static int option_flag(const tw_device *dev, const char *opts, const char *key, int fallback,
                       int *out) {
  char v[16];
  *out = fallback;
  if (!tw_option_get(opts, key, v, sizeof v)) return TW_OK;
  if (strcmp(v, "0") && strcmp(v, "1"))
    return tw_err((tw_errbuf *)&dev->err, TW_EINVAL, "opencl: option %s=%s: expected 0 or 1", key,
                  v);
  *out = v[0] == '1';
  return TW_OK;
}

/* Kernel set: the fixed shapes (cfg->kernels or the seed's three) + "any". */
static int setup_kernel_set(tw_device *dev, const char *spec) {
  if (!spec) spec = TW_DEFAULT_FIXED_KERNELS;
  int rc = tw_kernel_spec_parse(dev, spec);
  if (rc) return rc;
  if (dev->n_kernels == TW_MAX_KERNELS)
    return tw_err(&dev->err, TW_EINVAL, "opencl: kernel set '%s': at most %d fixed kernels", spec,
                  TW_MAX_KERNELS - 1);
  tw_kernel_info *any = &dev->kernels[dev->n_kernels++];
  memset(any, 0, sizeof *any);
  snprintf(any->name, sizeof any->name, OCL_ANY_NAME);
  any->flags = TW_KERNEL_ANY_SHAPE | TW_KERNEL_ACCUM_K;
  return TW_OK;
}

static int setup(tw_device *dev, const tw_device_config *cfg, int *fresh) {
  tw_ocl *o = dev->impl;
  const char *opts = cfg->options;
  int rc = tw_ocl_select(o, cfg->selector, &dev->err);
  if (rc) return rc;
  snprintf(dev->name, sizeof dev->name, "opencl:%d.%d", o->plat_idx, o->dev_idx);
  int gpu = (o->type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
  char tiling[16];
  if (tw_option_get(opts, "tiling", tiling, sizeof tiling)) {
    if (strcmp(tiling, "cpu") && strcmp(tiling, "gpu"))
      return tw_err(&dev->err, TW_EINVAL, "opencl: option tiling=%s: expected cpu or gpu", tiling);
    gpu = tiling[0] == 'g';
  }
  static const tw_ocl_tiling gpu_tiling = {.rm = 4, .vw = 4, .nv = 2, .local = 1, .lx = 16,
                                           .ly = 16, .bk = 16};
  static const tw_ocl_tiling cpu_tiling = {.rm = 6, .vw = 16, .nv = 4, .local = 0, .lx = 1,
                                           .ly = 1, .bk = 32};
  o->tiling = gpu ? gpu_tiling : cpu_tiling;
  if ((rc = option_flag(dev, opts, "local", o->tiling.local, &o->tiling.local)) ||
      (rc = option_flag(dev, opts, "cache", 1, &o->use_cache)) ||
      (rc = option_flag(dev, opts, "calibrate", 0, fresh)))
    return rc;
  if (o->tiling.local && !gpu) /* a CPU runs many work-items per group: keep groups small */
    o->tiling = (tw_ocl_tiling){.rm = 8, .vw = 16, .nv = 2, .local = 1, .lx = 2, .ly = 2, .bk = 32};
  size_t max_wg = 0; /* devices with small work-groups: shrink the group, keep the tile */
  clGetDeviceInfo(o->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
  while (max_wg && (size_t)o->tiling.lx * (size_t)o->tiling.ly > max_wg && o->tiling.lx > 1)
    o->tiling.lx /= 2;
  while (max_wg && (size_t)o->tiling.lx * (size_t)o->tiling.ly > max_wg && o->tiling.ly > 1)
    o->tiling.ly /= 2;
  tw_option_get(opts, "build_options", o->build_options, sizeof o->build_options);
  if (o->use_cache) cache_dir(o, opts);
  if ((rc = setup_kernel_set(dev, cfg->kernels))) return rc;

  cl_int err;
  o->ctx = clCreateContext(NULL, 1, &o->device, NULL, NULL, &err);
  if (!o->ctx) return tw_ocl_fail(&dev->err, "clCreateContext", err, o->dev_name);
  o->queue = clCreateCommandQueue(o->ctx, o->device, CL_QUEUE_PROFILING_ENABLE, &err);
  o->profiling = o->queue != NULL;
  if (!o->queue) o->queue = clCreateCommandQueue(o->ctx, o->device, 0, &err);
  if (!o->queue) return tw_ocl_fail(&dev->err, "clCreateCommandQueue", err, o->dev_name);
  for (int i = 0; i < dev->n_kernels; i++) {
    tw_kernel_info *ki = &dev->kernels[i];
    if ((rc = tw_ocl_program_build(o, ki, &o->kernels[i], &dev->err))) return rc;
  }
  o->empty = clCreateKernel(o->kernels[dev->n_kernels - 1].prog, "tw_empty", &err);
  if (!o->empty) return tw_ocl_fail(&dev->err, "clCreateKernel", err, "tw_empty");

  tw_device_costs *c = &dev->costs;
  c->mem_bytes = (size_t)o->global_mem;
  c->max_batch = 0;
  c->overlap = 0; /* one in-order queue: copies and kernels take turns */
  c->host_memory = 0;
  return TW_OK;
}

const char *const tw_opencl_option_keys[] = {"tiling",    "local",         "cache", "cache_dir",
                                             "calibrate", "build_options", NULL};

int tw_opencl_device_create(const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  tw_device_config none = {0};
  if (!cfg) cfg = &none;
  tw_device *dev = tw_device_alloc(&ocl_iface, "opencl");
  if (!dev) return tw_err(NULL, TW_ENOMEM, "opencl: out of memory");
  dev->impl = tw_calloc_aligned(1, sizeof(tw_ocl));
  if (!dev->impl) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "opencl: out of memory");
  }
  dev->pool = cfg->pool;
  int fresh = 0;
  int rc = setup(dev, cfg, &fresh);
  if (!rc) rc = tw_ocl_calibrate(dev, fresh);
  if (rc) {
    tw_errbuf msg = dev->err;
    tw_device_destroy(dev);
    return tw_err(NULL, rc, "%s", msg.msg);
  }
  *out = dev;
  return TW_OK;
}

/* Measured costs: what the planner reads, taken on the device at creation.
 *
 *   invoke_s      per kernel, back to back in one submission: 200 empty
 *                 launches then one clFinish, divided by 200
 *   submit_s      one launch + clFinish (the round trip of a submission),
 *                 median of 30, minus invoke_s
 *   h2d, d2h      blocking 8 MiB copies each way, best of 3
 *   flops_per_s   per kernel shape: its own tile run back to back (fixed
 *                 shapes) or a 512 x 512 x 512 product ("any"), minus the
 *                 launch cost
 *
 * Every kernel is launched once first, so runtimes that finish compiling at
 * the first launch (PoCL) do it before the timing.  The figures are stored
 * as text next to the cached binaries (calib-<hash>.txt, keyed by the device
 * key and the kernel set) and read back on later starts; device option
 * calibrate=1 measures again.  Whole run: well under a second on PoCL. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timing.h"
#include "device/opencl/ocl.h"
#include "core/mem.h"

#define CALIB_MAGIC "TWCALIB1"
#define COPY_BYTES ((size_t)8 << 20)
#define ANY_SIZE 512

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void calib_path(const tw_device *dev, char *key, size_t kcap, char *path, size_t pcap) {
  const tw_ocl *o = dev->impl;
  tw_ocl_device_key(o, key, kcap);
  size_t n = strlen(key);
  const tw_ocl_tiling *t = &o->tiling;
  n += (size_t)snprintf(key + n, kcap - n, ";tiling=%d,%d,%d,%d,%d,%d,%d;opts=%s;kernels=", t->rm,
                        t->vw, t->nv, t->local, t->lx, t->ly, t->bk, o->build_options);
  for (int i = 0; i < dev->n_kernels && n < kcap; i++)
    n += (size_t)snprintf(key + n, kcap - n, "%s%s", i ? "," : "", dev->kernels[i].name);
  uint64_t h = tw_ocl_hash(key, strlen(key), TW_OCL_HASH_SEED);
  snprintf(path, pcap, "%s/calib-%016llx.txt", o->cache_dir, (unsigned long long)h);
}

static int good(double x) { return isfinite(x) && x > 0; }

static int calib_load(tw_device *dev, const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[1400];
  tw_device_costs c = dev->costs;
  double flops[TW_MAX_KERNELS];
  int ok = fgets(line, sizeof line, f) && !strncmp(line, CALIB_MAGIC " ", strlen(CALIB_MAGIC) + 1);
  if (ok) {
    line[strcspn(line, "\n")] = '\0';
    ok = !strcmp(line + strlen(CALIB_MAGIC) + 1, key);
  }
  ok = ok && fscanf(f, "%lf %lf %lf %lf", &c.invoke_s, &c.submit_s, &c.h2d_bytes_per_s,
                    &c.d2h_bytes_per_s) == 4;
  for (int i = 0; ok && i < dev->n_kernels; i++) {
    char name[40];
    ok = fscanf(f, "%39s %lf", name, &flops[i]) == 2 && !strcmp(name, dev->kernels[i].name) &&
         good(flops[i]);
  }
  fclose(f);
  ok = ok && good(c.invoke_s) && good(c.submit_s) && good(c.h2d_bytes_per_s) &&
       good(c.d2h_bytes_per_s);
  if (!ok) return 0;
  dev->costs = c;
  for (int i = 0; i < dev->n_kernels; i++) dev->kernels[i].flops_per_s = flops[i];
  dev->costs.flops_per_s = flops[dev->n_kernels - 1];
  return 1;
}

static void calib_store(const tw_device *dev, const char *path, const char *key) {
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  const tw_device_costs *c = &dev->costs;
  fprintf(f, "%s %s\n%.9g %.9g %.9g %.9g\n", CALIB_MAGIC, key, c->invoke_s, c->submit_s,
          c->h2d_bytes_per_s, c->d2h_bytes_per_s);
  for (int i = 0; i < dev->n_kernels; i++)
    fprintf(f, "%s %.9g\n", dev->kernels[i].name, dev->kernels[i].flops_per_s);
  if (fclose(f) != 0 || rename(tmp, path) != 0) remove(tmp);
}

typedef struct bench_bufs {
  cl_mem a, b, c;
  size_t a_bytes, b_bytes, c_bytes;
} bench_bufs;

static int launch_empty(tw_device *dev, cl_mem x) {
  tw_ocl *o = dev->impl;
  size_t one = 1;
  cl_int rc = clSetKernelArg(o->empty, 0, sizeof x, &x);
  if (rc == CL_SUCCESS)
    rc = clEnqueueNDRangeKernel(o->queue, o->empty, 1, NULL, &one, NULL, 0, NULL, NULL);
  return rc == CL_SUCCESS ? TW_OK
                          : tw_ocl_fail(&dev->err, "clEnqueueNDRangeKernel", rc, "tw_empty");
}

static int measure_launch(tw_device *dev, cl_mem x) {
  tw_ocl *o = dev->impl;
  double rt[30];
  int rc = launch_empty(dev, x);
  clFinish(o->queue);
  for (int i = 0; i < 30 && !rc; i++) {
    double t0 = tw_now();
    rc = launch_empty(dev, x);
    clFinish(o->queue);
    rt[i] = tw_now() - t0;
  }
  double t0 = tw_now();
  for (int i = 0; i < 200 && !rc; i++) rc = launch_empty(dev, x);
  clFinish(o->queue);
  double per = (tw_now() - t0) / 200;
  if (rc) return rc;
  qsort(rt, 30, sizeof rt[0], cmp_double);
  dev->costs.invoke_s = per > 1e-8 ? per : 1e-8;
  dev->costs.submit_s = rt[15] - per > 1e-7 ? rt[15] - per : 1e-7;
  return TW_OK;
}

static int measure_copies(tw_device *dev, cl_mem x) {
  tw_ocl *o = dev->impl;
  unsigned char *host = tw_calloc_aligned(1, COPY_BYTES);
  if (!host) return tw_err(&dev->err, TW_ENOMEM, "opencl: calibration: out of memory");
  double best_w = 1e30, best_r = 1e30;
  cl_int rc = CL_SUCCESS;
  for (int i = 0; i < 3 && rc == CL_SUCCESS; i++) {
    double t0 = tw_now();
    rc = clEnqueueWriteBuffer(o->queue, x, CL_TRUE, 0, COPY_BYTES, host, 0, NULL, NULL);
    double t1 = tw_now();
    if (rc == CL_SUCCESS)
      rc = clEnqueueReadBuffer(o->queue, x, CL_TRUE, 0, COPY_BYTES, host, 0, NULL, NULL);
    double t2 = tw_now();
    if (t1 - t0 < best_w) best_w = t1 - t0;
    if (t2 - t1 < best_r) best_r = t2 - t1;
  }
  tw_free(host);
  if (rc != CL_SUCCESS)
    return tw_ocl_fail(&dev->err, "clEnqueueWrite/ReadBuffer", rc, "calibration");
  dev->costs.h2d_bytes_per_s = (double)COPY_BYTES / fmax(best_w, 1e-9);
  dev->costs.d2h_bytes_per_s = (double)COPY_BYTES / fmax(best_r, 1e-9);
  return TW_OK;
}

/* One kernel command on the calibration buffers (already sized). */
static int run_kernel(tw_device *dev, int idx, int m, int k, int n, tw_dbuf *a, tw_dbuf *b,
                      tw_dbuf *c, int reps) {
  tw_cmd cmd = {.op = TW_CMD_KERNEL, .kernel = idx, .a = a, .b = b, .c = c, .lda = (size_t)k,
                .ldb = (size_t)n, .ldc = (size_t)n, .m = m, .k = k, .n = n};
  for (int r = 0; r < reps; r++) {
    uint64_t fence;
    int rc = dev->iface->submit(dev, &cmd, 1, &fence);
    if (!rc && r == reps - 1) rc = dev->iface->wait(dev, fence, NULL);
    if (rc) return rc;
  }
  return TW_OK;
}

static int measure_kernels(tw_device *dev, tw_dbuf *a, tw_dbuf *b, tw_dbuf *c) {
  for (int i = 0; i < dev->n_kernels; i++) { /* first launches: any lazy compile */
    tw_kernel_info *ki = &dev->kernels[i];
    int any = (ki->flags & TW_KERNEL_ANY_SHAPE) != 0;
    int rc = run_kernel(dev, i, any ? 8 : ki->mk, any ? 8 : ki->kk, any ? 8 : ki->nk, a, b, c, 1);
    if (rc) return rc;
  }
  for (int i = 0; i < dev->n_kernels; i++) {
    tw_kernel_info *ki = &dev->kernels[i];
    int any = (ki->flags & TW_KERNEL_ANY_SHAPE) != 0;
    int m = any ? ANY_SIZE : ki->mk, k = any ? ANY_SIZE : ki->kk, n = any ? ANY_SIZE : ki->nk;
    double flops = 2.0 * m * (double)k * n;
    /* about 20 ms of work, at least 2 and at most 200 launches */
    double t0 = tw_now();
    int rc = run_kernel(dev, i, m, k, n, a, b, c, 1);
    double once = tw_now() - t0;
    int reps = once > 0 ? (int)(0.02 / once) : 200;
    reps = reps < 2 ? 2 : reps > 200 ? 200 : reps;
    t0 = tw_now();
    if (!rc) rc = run_kernel(dev, i, m, k, n, a, b, c, reps);
    if (rc) return rc;
    double per = (tw_now() - t0) / reps - dev->costs.invoke_s;
    double floor = 0.05 * (tw_now() - t0) / reps; /* launch-bound shapes: keep it sane */
    ki->flops_per_s = flops / (per > floor ? per : floor);
  }
  dev->costs.flops_per_s = dev->kernels[dev->n_kernels - 1].flops_per_s;
  return TW_OK;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

int tw_ocl_calibrate(tw_device *dev, int fresh) {
  tw_ocl *o = dev->impl;
  char key[1400], path[600];
  int cache = o->use_cache && o->cache_dir[0];
  if (cache) {
    calib_path(dev, key, sizeof key, path, sizeof path);
    if (!fresh && calib_load(dev, path, key)) return TW_OK;
  }
  size_t a_bytes = 2 * ANY_SIZE * ANY_SIZE, b_bytes = a_bytes, c_bytes = 4 * ANY_SIZE * ANY_SIZE;
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    a_bytes = max_size(a_bytes, 2 * (size_t)ki->mk * (size_t)ki->kk);
    b_bytes = max_size(b_bytes, 2 * (size_t)ki->kk * (size_t)ki->nk);
    c_bytes = max_size(c_bytes, 4 * (size_t)ki->mk * (size_t)ki->nk);
  }
  tw_dbuf *a = NULL, *b = NULL, *c = NULL, *x = NULL;
  int rc = dev->iface->buffer_alloc(dev, max_size(a_bytes, COPY_BYTES), &a);
  if (!rc) rc = dev->iface->buffer_alloc(dev, b_bytes, &b);
  if (!rc) rc = dev->iface->buffer_alloc(dev, c_bytes, &c);
  x = a;
  /* zeroed operands: no NaNs or denormals in the timed kernels */
  cl_float zero = 0.0f;
  if (!rc) {
    tw_dbuf *bufs[3] = {a, b, c};
    for (int i = 0; i < 3 && !rc; i++) {
      cl_int e = clEnqueueFillBuffer(o->queue, bufs[i]->impl, &zero, sizeof zero, 0,
                                     bufs[i]->bytes / 4 * 4, 0, NULL, NULL);
      if (e != CL_SUCCESS) rc = tw_ocl_fail(&dev->err, "clEnqueueFillBuffer", e, "calibration");
    }
    clFinish(o->queue);
  }
  if (!rc) rc = measure_launch(dev, x->impl);
  if (!rc) rc = measure_copies(dev, x->impl);
  if (!rc) rc = measure_kernels(dev, a, b, c);
  dev->iface->buffer_free(dev, a);
  dev->iface->buffer_free(dev, b);
  dev->iface->buffer_free(dev, c);
  if (rc) return rc;
  if (cache) calib_store(dev, path, key);
  return TW_OK;
}

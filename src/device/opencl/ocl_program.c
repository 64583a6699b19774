/* One program per compiled kernel shape, and the on-disk binary cache.
 *
 * A kernel of the set is gemm_bf16.cl built with its shape and tiling as -D
 * defines, the way an NPU gets one binary per tile shape.  The built binary
 * (clGetProgramInfo CL_PROGRAM_BINARIES) is stored as
 * <cache>/ocl-<hash>.bin, where the hash covers the device name, driver and
 * platform versions, the source text and the build options; the file starts
 * with the full key, which is compared on load, so a later start skips the
 * compile (clCreateProgramWithBinary).  A binary the runtime rejects is
 * rebuilt from source and rewritten. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/opencl/ocl.h"
#include "core/mem.h"

#define CACHE_MAGIC "TWCLBIN1\n"

uint64_t tw_ocl_hash(const void *data, size_t n, uint64_t h) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

void tw_ocl_device_key(const tw_ocl *o, char *buf, size_t cap) {
  uint64_t src = tw_ocl_hash(tw_ocl_gemm_source, strlen(tw_ocl_gemm_source), TW_OCL_HASH_SEED);
  snprintf(buf, cap, "dev=%s;driver=%s;platform=%s;src=%016llx", o->dev_name, o->driver,
           o->plat_version, (unsigned long long)src);
}

static void build_options(const tw_ocl *o, const tw_kernel_info *ki, char *buf, size_t cap) {
  const tw_ocl_tiling *t = &o->tiling;
  int n = snprintf(buf, cap, "-cl-std=CL1.2 -DTW_RM=%d -DTW_VW=%d -DTW_NV=%d -DTW_ACCUM=%d "
                   "-DTW_LOCAL=%d -DTW_LX=%d -DTW_LY=%d -DTW_BK=%d",
                   t->rm, t->vw, t->nv, (ki->flags & TW_KERNEL_ACCUM_K) ? 1 : 0, t->local, t->lx,
                   t->ly, t->bk);
  if (n > 0 && (size_t)n < cap && !(ki->flags & TW_KERNEL_ANY_SHAPE))
    n += snprintf(buf + n, cap - (size_t)n, " -DTW_FIXED_M=%d -DTW_FIXED_K=%d -DTW_FIXED_N=%d",
                  ki->mk, ki->kk, ki->nk);
  if (n > 0 && (size_t)n < cap && o->build_options[0])
    snprintf(buf + n, cap - (size_t)n, " %s", o->build_options);
}

static void cache_path(const tw_ocl *o, const char *key, char *path, size_t cap) {
  uint64_t h = tw_ocl_hash(key, strlen(key), TW_OCL_HASH_SEED);
  snprintf(path, cap, "%s/ocl-%016llx.bin", o->cache_dir, (unsigned long long)h);
}

/* Reads a cached binary whose stored key equals `key`; malloc'd, or NULL. */
static unsigned char *cache_read(const char *path, const char *key, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *bin = NULL;
  size_t klen = strlen(key), hlen = strlen(CACHE_MAGIC) + klen + 1;
  char *head = tw_malloc_aligned(hlen);
  long total = -1;
  if (head && fread(head, 1, hlen, f) == hlen && !memcmp(head, CACHE_MAGIC, strlen(CACHE_MAGIC)) &&
      !memcmp(head + strlen(CACHE_MAGIC), key, klen) && head[hlen - 1] == '\n' &&
      fseek(f, 0, SEEK_END) == 0 && (total = ftell(f)) > (long)hlen &&
      fseek(f, (long)hlen, SEEK_SET) == 0) {
    *size = (size_t)total - hlen;
    bin = tw_malloc_aligned(*size);
    if (bin && fread(bin, 1, *size, f) != *size) {
      tw_free(bin);
      bin = NULL;
    }
  }
  tw_free(head);
  fclose(f);
  return bin;
}

/* Writes through a temporary file and rename(), so a reader never sees half
 * a file; failures only cost a rebuild next time. */
static void cache_write(const char *path, const char *key, const unsigned char *bin, size_t size) {
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return;
  int ok = fputs(CACHE_MAGIC, f) >= 0 && fputs(key, f) >= 0 && fputc('\n', f) != EOF &&
           fwrite(bin, 1, size, f) == size;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) remove(tmp);
}

static void build_log(const tw_ocl *o, cl_program prog, char *buf, size_t cap) {
  buf[0] = '\0';
  size_t n = 0;
  if (clGetProgramBuildInfo(prog, o->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS ||
      n == 0)
    return;
  char *log = tw_malloc_aligned(n + 1);
  if (!log) return;
  if (clGetProgramBuildInfo(prog, o->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
    log[n] = '\0';
    /* keep the first error lines: the part of the log that names the cause */
    char *s = log;
    while (*s == '\n' || *s == ' ') s++;
    snprintf(buf, cap, "%s", s);
    for (char *c = buf; *c; c++)
      if (*c == '\n') *c = ' ';
  }
  tw_free(log);
}

static int save_binary(cl_program prog, const char *path, const char *key) {
  size_t size = 0;
  if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0)
    return 0;
  unsigned char *bin = tw_malloc_aligned(size);
  if (!bin) return 0;
  unsigned char *bins[1] = {bin};
  if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
    cache_write(path, key, bin, size);
  tw_free(bin);
  return 1;
}

int tw_ocl_program_build(tw_ocl *o, const tw_kernel_info *ki, tw_ocl_kernel *out, tw_errbuf *e) {
  memset(out, 0, sizeof *out);
  char opts[512], key[1024], path[600] = "";
  build_options(o, ki, opts, sizeof opts);
  tw_ocl_device_key(o, key, sizeof key);
  size_t klen = strlen(key);
  snprintf(key + klen, sizeof key - klen, ";opts=%s", opts);
  int cache = o->use_cache && o->cache_dir[0];
  if (cache) cache_path(o, key, path, sizeof path);
  cl_int rc = CL_SUCCESS;
  if (cache) {
    size_t size = 0;
    unsigned char *bin = cache_read(path, key, &size);
    if (bin) {
      const unsigned char *bins[1] = {bin};
      cl_int bin_status = CL_SUCCESS;
      out->prog = clCreateProgramWithBinary(o->ctx, 1, &o->device, &size, bins, &bin_status, &rc);
      tw_free(bin);
      if (out->prog && (rc != CL_SUCCESS || bin_status != CL_SUCCESS ||
                        clBuildProgram(out->prog, 1, &o->device, opts, NULL, NULL) != CL_SUCCESS)) {
        clReleaseProgram(out->prog); /* rejected: rebuild from source below */
        out->prog = NULL;
      }
      out->from_cache = out->prog != NULL;
    }
  }
  if (!out->prog) {
    const char *src = tw_ocl_gemm_source;
    out->prog = clCreateProgramWithSource(o->ctx, 1, &src, NULL, &rc);
    if (!out->prog) return tw_ocl_fail(e, "clCreateProgramWithSource", rc, ki->name);
    rc = clBuildProgram(out->prog, 1, &o->device, opts, NULL, NULL);
    if (rc != CL_SUCCESS) {
      char log[400], detail[480];
      build_log(o, out->prog, log, sizeof log);
      snprintf(detail, sizeof detail, "kernel %s: %s", ki->name, log[0] ? log : "(no build log)");
      tw_ocl_program_release(out);
      return tw_ocl_fail(e, "clBuildProgram", rc, detail);
    }
    if (cache) save_binary(out->prog, path, key);
  }
  out->kern = clCreateKernel(out->prog, "tw_gemm_bf16", &rc);
  if (!out->kern) {
    tw_ocl_program_release(out);
    return tw_ocl_fail(e, "clCreateKernel", rc, ki->name);
  }
  const tw_ocl_tiling *t = &o->tiling;
  out->rm = t->rm;
  out->wn = t->vw * t->nv;
  out->lws[0] = (size_t)t->lx;
  out->lws[1] = (size_t)t->ly;
  return TW_OK;
}

void tw_ocl_program_release(tw_ocl_kernel *k) {
  if (k->kern) clReleaseKernel(k->kern);
  if (k->prog) clReleaseProgram(k->prog);
  k->kern = NULL;
  k->prog = NULL;
}

void tw_ocl_global_size(const tw_ocl_kernel *k, int m, int n, size_t gws[2]) {
  gws[0] = ((size_t)n + (size_t)k->wn - 1) / (size_t)k->wn;
  gws[1] = ((size_t)m + (size_t)k->rm - 1) / (size_t)k->rm;
  for (int d = 0; d < 2; d++)
    if (k->lws[d]) gws[d] = (gws[d] + k->lws[d] - 1) / k->lws[d] * k->lws[d];
}

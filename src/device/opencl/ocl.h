/* Private parts of the `opencl` device (src/device/opencl/).
 *
 *   ocl_device.c   the device interface: create/destroy, buffers, submit/wait
 *   ocl_select.c   platform and device selection, OpenCL error names
 *   ocl_program.c  one program per compiled kernel shape, on-disk binary cache
 *   ocl_calib.c    measured costs (launch, copies, per-shape throughput)
 *   gemm_bf16.cl   the OpenCL C source, embedded at build time (see
 *                  CMakeLists.txt: it becomes tw_ocl_gemm_source) */
#ifndef TW_DEVICE_OPENCL_OCL_H
#define TW_DEVICE_OPENCL_OCL_H

#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "device/device.h"

/* NUL-terminated OpenCL C text of gemm_bf16.cl (generated). */
extern const char tw_ocl_gemm_source[];

/* One compiled kernel shape. */
typedef struct tw_ocl_kernel {
  cl_program prog;
  cl_kernel kern;
  int rm, wn;       /* rows and columns of C per work-item */
  size_t lws[2];    /* work-group size */
  int from_cache;   /* the binary came from the disk cache */
} tw_ocl_kernel;

/* Work-item tiling and variant, fixed at creation (the -D defines). */
typedef struct tw_ocl_tiling {
  int rm, vw, nv; /* TW_RM, TW_VW, TW_NV */
  int local;      /* TW_LOCAL */
  int lx, ly, bk; /* TW_LX, TW_LY, TW_BK */
} tw_ocl_tiling;

/* A submission whose fence has not been waited on yet. */
typedef struct tw_ocl_sub {
  uint64_t fence;
  cl_event *ev;
  unsigned char *is_kernel; /* per event: kernel (compute) or copy (transfer) */
  size_t n;
} tw_ocl_sub;

typedef struct tw_ocl {
  cl_platform_id platform;
  cl_device_id device;
  cl_context ctx;
  cl_command_queue queue;
  int plat_idx, dev_idx;
  cl_device_type type;
  char dev_name[128];
  char driver[64];
  char plat_version[128];
  cl_ulong max_alloc, global_mem;
  tw_ocl_tiling tiling;
  char build_options[256]; /* user's extra clBuildProgram options */
  int use_cache;           /* binaries and calibration on disk */
  char cache_dir[512];     /* "" when no cache directory is usable */
  tw_ocl_kernel kernels[TW_MAX_KERNELS];
  cl_kernel empty; /* tw_empty from the any-shape program */
  int profiling;   /* the queue records event times */
  tw_ocl_sub *subs;
  size_t n_subs, cap_subs;
  uint64_t next_fence;
} tw_ocl;

/* "CL_OUT_OF_RESOURCES" etc.; never NULL. */
const char *tw_ocl_error_name(cl_int code);
/* Formats "opencl: <call> returned <code> (<name>)[: detail]" into e and
 * returns TW_EDEVICE. */
int tw_ocl_fail(tw_errbuf *e, const char *call, cl_int code, const char *detail);

/* Picks the platform and device: `selector` "P.D" (from "opencl:P.D"), else
 * $TW_OPENCL_DEVICE, else the first GPU or accelerator, else the first
 * device.  Fills platform, device, indices, type and the info strings. */
int tw_ocl_select(tw_ocl *o, const char *selector, tw_errbuf *e);

/* Builds (or loads from the cache) the program of kernel `ki`. */
int tw_ocl_program_build(tw_ocl *o, const tw_kernel_info *ki, tw_ocl_kernel *out, tw_errbuf *e);
void tw_ocl_program_release(tw_ocl_kernel *k);

/* 64-bit FNV-1a, for cache keys. */
uint64_t tw_ocl_hash(const void *data, size_t n, uint64_t h);
#define TW_OCL_HASH_SEED 1469598103934665603ull
/* Cache key prefix: device, driver, platform, source hash, tiling. */
void tw_ocl_device_key(const tw_ocl *o, char *buf, size_t cap);

/* Measures dev->costs and each kernel's flops_per_s (or reads them from the
 * cache when `fresh` is 0). */
int tw_ocl_calibrate(tw_device *dev, int fresh);

/* Global work size of one invocation of kernel `k` over m x n outputs. */
void tw_ocl_global_size(const tw_ocl_kernel *k, int m, int n, size_t gws[2]);

#endif

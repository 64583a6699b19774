/* Devices: what runs the matrix products.
 *
 * A device is opened once and shared: it holds the weights prepared on it
 * (tw_weight_prepare in gemm.h, or a whole model in whisper.h) and is only
 * read after preparation, so any number of streams (gemm.h) may run on it
 * from different threads at once.  Devices with one command queue (fixed,
 * emu, opencl, ref) let streams take turns per product; the cpu device runs
 * them concurrently.
 *
 * Ownership: tw_device_create allocates, tw_device_destroy frees (NULL is a
 * no-op).  Everything prepared on a device and every stream on it must be
 * destroyed before the device. */
#ifndef TILEWHISPER_DEVICE_H
#define TILEWHISPER_DEVICE_H

#include <stddef.h>

#include "tilewhisper/export.h"
#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_device tw_device;

typedef struct tw_device_options {
  /* "cpu" (default), "ref", "fixed", "emu", "opencl" or "opencl:P.D"
   * (platform P, device D).  Options may follow after a second colon or in
   * `options`: "emu:large=1". */
  const char *name;
  /* Worker threads used while preparing weights; 0 = all cores. */
  int threads;
  /* Kernel set of a fixed-shape device: "MxKxN[a],..." where a trailing 'a'
   * marks a kernel that accumulates over K.  NULL = the device's default. */
  const char *kernels;
  /* Device-specific "key=value,key=value"; NULL = defaults. */
  const char *options;
} tw_device_options;

TW_API void tw_device_options_init(tw_device_options *opts);

/* opts may be NULL (the cpu device, all cores). */
TW_API int tw_device_create(const tw_device_options *opts, tw_device **out);
TW_API void tw_device_destroy(tw_device *dev);

/* Message of the last failure on this device ("" if none). */
TW_API const char *tw_device_last_error(const tw_device *dev);

/* The kinds of device compiled into this build, NULL-terminated, default
 * first: "cpu", "ref", "fixed", "emu"[, "opencl"]. */
TW_API const char *const *tw_device_kinds(void);

#define TW_DEVICE_MAX_KERNELS 16

/* One kernel a device offers: a compiled shape m x k . k x n per invocation
 * (any_shape: any size up to those bounds, 0 = unbounded). */
typedef struct tw_kernel_desc {
  char name[32];
  int m, k, n;
  int any_shape;
  int accumulates_k;    /* C += A.B, so K is summed on the device */
  int bf16_out;         /* writes C as bf16 */
  size_t dev_mem_bytes; /* device memory one invocation needs */
  double flops_per_s;   /* this shape's measured throughput; 0 = the device's */
} tw_kernel_desc;

#define TW_DEVICE_MAX_CHOICES 16

/* A device that picks its own kernels by measurement (cpu) says what it
 * measured and chose: GFLOP/s of each candidate (a kernel set and a compute
 * mode) per shape class (large GEMM, skinny M <= 16, GEMV; 0 where the
 * mode does not apply), and the mode chosen per class. */
typedef struct tw_device_calibration {
  int present;       /* 0: the device does not calibrate */
  char source[16];   /* "measured", "cached" (read back from the cache) or "fixed" (forced) */
  char kernels[24];  /* the kernel set the device runs */
  char classes[3][16];   /* "large", "skinny", "gemv" */
  char chosen[3][16];    /* the mode chosen for each class */
  int n_candidates;
  struct {
    char kernels[24];
    char mode[16];
    double gflops[3];
  } candidates[TW_DEVICE_MAX_CHOICES];
  char text[1024];   /* the same as lines for people */
} tw_device_calibration;

/* What a device is and what it costs, as the planner sees it.  A figure of
 * 0 means the device does not charge that cost separately. */
typedef struct tw_device_info {
  char name[32];
  char detail[160]; /* kernel set (cpu), platform and device (opencl), profile (emu) */
  double invoke_s;  /* fixed cost of one kernel invocation */
  double submit_s;  /* fixed cost of one submission */
  double h2d_bytes_per_s, d2h_bytes_per_s;
  double flops_per_s;
  size_t mem_bytes;      /* device memory; 0 = unlimited */
  size_t resident_bytes; /* held by the weights prepared on it now */
  size_t max_batch;      /* invocations per submission; 0 = unlimited */
  int host_memory;       /* device memory is host memory */
  int packed_weights;    /* the device packs weights and runs whole products (cpu) */
  int n_kernels;
  tw_kernel_desc kernels[TW_DEVICE_MAX_KERNELS];
  tw_device_calibration calibration;
} tw_device_info;

TW_API int tw_device_query(const tw_device *dev, tw_device_info *out);

#ifdef __cplusplus
}
#endif
#endif

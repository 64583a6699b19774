/* The device interface (private).  See docs/device-interface.md.
 *
 * A device is { iface, data describing it, impl }, as in ggml's backends.
 * The engine reads the device's kernel set and cost figures as data and
 * never switches on a device's name.  Two ways to run work:
 *
 *  - the command queue (fixed-shape devices: fixed, emu, opencl, ref):
 *    submit() enqueues a list of WRITE / KERNEL / READ commands that run in
 *    order; wait() blocks on a fence.  Device memory is reached only through
 *    tw_dbuf buffers and explicit copies.
 *  - the direct path (host devices whose kernel takes any shape: cpu):
 *    weight_prepare() lays a weight out in the device's own format once and
 *    gemm() runs a whole C = A.W (+bias) in one invocation.
 *
 * Optional methods are NULL when a device does not offer them. */
#ifndef TW_DEVICE_DEVICE_H
#define TW_DEVICE_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/threadpool.h"
#include "tilewhisper/bf16.h"
#include "tilewhisper/device.h"
#include "tilewhisper/gemm.h"

#define TW_MAX_KERNELS 16

/* The kernel set of the fixed-shape devices (fixed, emu, opencl) unless told
 * otherwise: the seed's three compiled shapes. */
#define TW_DEFAULT_FIXED_KERNELS "64x64x64,64x64x512,128x64x512"

/* How a device holds a prepared weight, and so how the engine runs on it. */
typedef enum tw_weight_layout {
  /* Padded bf16 tiles in device memory; products go through the command
   * queue in planned invocations (fixed, emu, opencl, ref). */
  TW_LAYOUT_TILED = 0,
  /* The device packs the weight into its own format (weight_prepare) and
   * runs a whole product in one direct call (gemm): cpu. */
  TW_LAYOUT_PACKED = 1,
} tw_weight_layout;

enum tw_kernel_flags {
  /* Takes any m, k, n up to mk, kk, nk (0 = unbounded) per invocation. */
  TW_KERNEL_ANY_SHAPE = 1u << 0,
  /* Can add into C (C += A.B), so the K loop runs on the device. */
  TW_KERNEL_ACCUM_K = 1u << 1,
  /* Writes C as bf16 (2 bytes per element) instead of fp32. */
  TW_KERNEL_OUT_BF16 = 1u << 2,
};

typedef struct tw_kernel_info {
  char name[32];        /* "64x64x512" or "64x64x512a" */
  int mk, kk, nk;       /* rows of A and C, depth, columns of B and C per invocation */
  unsigned flags;       /* tw_kernel_flags */
  size_t dev_mem_bytes; /* device memory one invocation needs: A + B + C tiles */
  double flops_per_s;   /* this shape's throughput; 0 = the device's figure */
} tw_kernel_info;

typedef struct tw_device_costs {
  double invoke_s;        /* fixed cost of one kernel invocation */
  double submit_s;        /* fixed cost of one submission (enqueue + fence) */
  double h2d_bytes_per_s; /* host -> device copy bandwidth */
  double d2h_bytes_per_s; /* device -> host copy bandwidth */
  double flops_per_s;     /* kernel throughput when a kernel has no own figure */
  size_t mem_bytes;       /* device memory capacity; 0 = unlimited */
  size_t max_batch;       /* invocations per submission; 0 = unlimited */
  int overlap;            /* copies of one submission overlap compute of another */
  int host_memory;        /* device buffers are host memory (no real copies) */
} tw_device_costs;

/* A device buffer.  `bytes` is checked by every command; `host` is the
 * memory for host-memory devices, NULL otherwise; `impl` is the device's. */
typedef struct tw_dbuf {
  size_t bytes;
  void *host;
  void *impl;
} tw_dbuf;

typedef enum tw_cmd_op { TW_CMD_WRITE = 1, TW_CMD_READ, TW_CMD_KERNEL } tw_cmd_op;

/* One queued command.  Host memory named by WRITE/READ must stay valid until
 * the submission's fence has been waited on.  KERNEL: A is bf16 m x k
 * (row-major, lda elements), B is bf16 k x n (ldb), C is fp32 (or bf16 with
 * TW_KERNEL_OUT_BF16) m x n (ldc); offsets in bytes. */
typedef struct tw_cmd {
  tw_cmd_op op;
  tw_dbuf *buf;      /* WRITE/READ */
  size_t offset;     /* WRITE/READ, bytes */
  size_t bytes;      /* WRITE/READ */
  const void *src;   /* WRITE */
  void *dst;         /* READ */
  int kernel;        /* KERNEL: index into the device's kernel set */
  tw_dbuf *a, *b, *c;
  size_t a_off, b_off, c_off;
  size_t lda, ldb, ldc;
  int m, k, n;
  int accumulate;    /* C += A.B; needs TW_KERNEL_ACCUM_K */
} tw_cmd;

/* Time the device spent on a range of submissions. */
typedef struct tw_exec_times {
  double transfer_s;
  double compute_s;
  double modeled_s; /* the device's modeled time, where it models one */
} tw_exec_times;

/* Direct path (any-shape host devices). */
typedef struct tw_weight_src {
  /* K x N row-major (ld >= N); or, when `transposed`, N x K row-major
   * (ld >= K, PyTorch's Linear layout).  Only read during weight_prepare. */
  const void *data;
  tw_dtype dtype; /* F32, BF16 or F16 */
  size_t k, n, ld;
  tw_dtype storage; /* F32 or BF16 */
  int transposed;   /* data is N x K row-major (ld >= K) */
} tw_weight_src;

/* Weights i < n refilled from data (rows x ld fp32, row-major): weight i's
 * source is the column block starting at col[i], `rows` source rows at
 * stride ld, as transposed[i] (rows = the weight's N, its K columns wide)
 * or not (rows = its K, N wide): the per-head K_h^T and V_h of the
 * decoder's cross-attention, all in one matrix K | V. */
typedef struct tw_weight_cols_args {
  const float *data;
  size_t ld, rows, n;
  void *const *handles; /* from weight_prepare */
  const size_t *col;
  const int *transposed;
  tw_threadpool *pool;
  tw_errbuf *err;
} tw_weight_cols_args;

typedef struct tw_direct_gemm {
  size_t m, k, n;
  const void *a;
  tw_dtype a_type; /* F32 or BF16 */
  size_t lda;
  tw_dtype a_compute; /* BF16: round A to bf16 first; F32: use as is */
  int epilogue;       /* TW_EPILOGUE_*, only where the iface's `epilogues` has it */
  /* Or NULL: every finished block of C written into these weights (their
   * `data` unused, `rows` = m, `ld` = ldc), where the iface has
   * gemm_cols_out; C itself may then be left unwritten.  The decoder's
   * per-head K_h^T / V_h from its K | V product. */
  const struct tw_weight_cols_args *cols_out;
  const void *weight; /* handle from weight_prepare */
  const float *bias;  /* N values or NULL */
  float *c;
  size_t ldc;
  /* The calling stream's share of the device (NULL: the device's own, for
   * single-threaded callers such as the device tests): its worker pool, its
   * per-stream device state from stream_create, and where a failure's
   * message goes. */
  tw_threadpool *pool;
  void *stream;
  tw_errbuf *err;
} tw_direct_gemm;

typedef struct tw_device tw_device;

/* out[t][h*d + c] = sum_s softmax_s(scale q_h[t] . k_h[s]) v_h[s][c] for
 * every head h < n_head, t, s < T, c < d; q, k, v, out are T x (n_head d)
 * fp32 with row strides ldq, ldk, ldv, ldo, head h at columns h*d. */
typedef struct tw_attention_args {
  size_t T, n_head, d;
  float scale;
  const float *q, *k, *v;
  size_t ldq, ldk, ldv;
  float *out;
  size_t ldo;
  /* 1: the device may round Q, K, V and the softmax numerators to bf16
   * before their products (as the planned products do with bf16
   * activations), where that is faster; 0: fp32 throughout. */
  int allow_bf16;
  /* the calling stream's pool, per-stream device state (stream_create)
   * and error buffer (NULL: the device's own) */
  tw_threadpool *pool;
  void *stream;
  tw_errbuf *err;
} tw_attention_args;

/* One decoding step of self-attention for n_seq sequences: sequence s's
 * query (row s of q, head h at column h*d) over its own n_keys cached keys
 * (k[s], row j = key j) and values kept transposed (vt[s], row h*d + c =
 * feature c of head h over the keys), into row s of out.  q and out fp32,
 * the caches fp32 or bf16 (kv_type), computed in fp32. */
typedef struct tw_attention_step_args {
  size_t n_seq, n_head, d, n_keys;
  float scale;
  const float *q;
  size_t ldq;
  tw_dtype kv_type; /* the caches' elements: F32 or BF16 */
  const void *const *k;
  size_t ldk;
  const void *const *vt;
  size_t ldvt;
  float *out;
  size_t ldo;
  tw_threadpool *pool; /* the calling stream's (NULL: the device's) */
  tw_errbuf *err;
} tw_attention_step_args;

/* The cross-attention of m query rows over one window's keys and values,
 * every head at once: per head h, kt[h] is K_h^T (d x T) and v[h] is V_h
 * (T x d), both weights prepared on this device; row i of q holds head h
 * at columns h*d.., and row i of out receives it there.  round_bf16: q and
 * the probabilities enter the products rounded to bf16, as the planned
 * products with bf16 activations do. */
typedef struct tw_attention_cross_args {
  size_t m, n_head, d, T;
  float scale;
  const float *q;
  size_t ldq;
  void *const *kt, *const *v; /* device weight handles */
  float *out;
  size_t ldo;
  int round_bf16;
  tw_threadpool *pool;
  void *stream; /* the calling stream's device state (stream_create), or NULL */
  tw_errbuf *err;
} tw_attention_cross_args;

typedef struct tw_device_iface {
  /* Bit (1 << TW_EPILOGUE_x) per epilogue gemm() applies itself. */
  unsigned epilogues;
  /* gemm() takes tw_direct_gemm.cols_out (TW_EUNSUPPORTED for weights it
   * cannot write: the caller refills them after a plain product). */
  int gemm_cols_out;
  void (*destroy)(tw_device *dev); /* frees impl; the core frees dev */
  int (*buffer_alloc)(tw_device *dev, size_t bytes, tw_dbuf **out);
  void (*buffer_free)(tw_device *dev, tw_dbuf *buf);
  /* Enqueue n commands (copied; the array may be reused at once) and return
   * a fence that wait() takes.  Errors found while enqueueing return
   * immediately; errors found while running are returned by wait(). */
  int (*submit)(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence);
  /* Block until every submission up to `fence` has run.  Returns the first
   * error among them; adds their times into *times (may be NULL). */
  int (*wait)(tw_device *dev, uint64_t fence, tw_exec_times *times);
  /* Direct path, optional. */
  int (*weight_prepare)(tw_device *dev, const tw_weight_src *src, void **handle);
  void (*weight_release)(tw_device *dev, void *handle);
  /* Optional: refill a prepared weight of the same shape in place (no
   * allocation, no use of the device's shared state: streams call it
   * concurrently); the message of a failure goes to err. */
  int (*weight_update)(tw_device *dev, const tw_weight_src *src, void *handle, tw_errbuf *err);
  /* Optional: refill n prepared weights whose fp32 sources are column
   * blocks of one row-major matrix (tw_weight_cols_args), walking the
   * matrix's rows once; TW_EUNSUPPORTED for weights it does not take (the
   * caller refills them one by one). */
  int (*weight_update_cols)(tw_device *dev, const struct tw_weight_cols_args *a);
  int (*gemm)(tw_device *dev, const tw_direct_gemm *g);
  /* Optional per-stream device state (packing buffers sized for the
   * stream's pool), so streams run concurrently without sharing scratch.
   * reserve() grows it for products up to m x k x n, so that later calls
   * of at most that size allocate nothing. */
  int (*stream_create)(tw_device *dev, tw_threadpool *pool, void **out);
  int (*stream_reserve)(tw_device *dev, void *stream, size_t m, size_t k, size_t n);
  void (*stream_destroy)(tw_device *dev, void *stream);
  /* Optional one-line description for tw_device_query (kernel set,
   * platform, profile). */
  void (*describe)(const tw_device *dev, char *buf, size_t cap);
  /* Optional: what the device measured and chose (cpu). */
  void (*calibration)(const tw_device *dev, tw_device_calibration *out);
  /* Optional: fused multi-head attention (tw_attention_args); NULL, or
   * TW_EUNSUPPORTED for a shape it does not take, and the caller runs the
   * planned per-head products instead. */
  int (*attention)(tw_device *dev, const struct tw_attention_args *a);
  /* Optional: a decoding step's self-attention over cached K / V^T
   * (tw_attention_step_args); NULL or TW_EUNSUPPORTED as for attention. */
  int (*attention_step)(tw_device *dev, const struct tw_attention_step_args *a);
  /* Optional: cross-attention over prepared K^T / V weights
   * (tw_attention_cross_args); NULL or TW_EUNSUPPORTED as for attention. */
  int (*attention_cross)(tw_device *dev, const struct tw_attention_cross_args *a);
} tw_device_iface;

/* A device is shared by every stream that runs on it: after the weights are
 * prepared it is only read, except for `lock` and `resident_bytes`.
 * Queue devices have one command queue, so the engine holds `lock` across a
 * product's submit..wait (streams take turns, as on one accelerator
 * queue); packed (cpu) devices run streams concurrently. */
struct tw_device {
  const tw_device_iface *iface;
  char name[32];
  tw_weight_layout layout;
  tw_kernel_info kernels[TW_MAX_KERNELS];
  int n_kernels;
  tw_device_costs costs;
  tw_errbuf err;       /* message of the device's last failure (under lock) */
  tw_threadpool *pool; /* for preparing weights; may be NULL */
  tw_threadpool *own_pool; /* the pool when the device created it */
  pthread_mutex_t lock;
  atomic_size_t resident_bytes; /* device memory held by live tiled weights */
  void *impl;
};

/* What a device constructor gets. */
typedef struct tw_device_config {
  const char *kernels;        /* kernel spec, NULL = device default */
  const char *options;        /* "key=value,..." NULL = defaults */
  const char *selector;       /* text after ':' in the device name ("0.1"), or NULL */
  tw_threadpool *pool;        /* borrowed */
} tw_device_config;

typedef int (*tw_device_create_fn)(const tw_device_config *cfg, tw_device **out);

/* Registry: create by name ("cpu", "emu", "opencl:0.0", ...) with a
 * borrowed pool; tw_device_destroy (public) frees it. */
int tw_registry_create(const char *name, const tw_device_config *cfg, tw_device **out);

/* Helpers shared by device implementations (src/device/device.c). */
tw_device *tw_device_alloc(const tw_device_iface *iface, const char *name);
/* Parses "MxKxN[a][b],..." into dev->kernels (a = accumulates over K,
 * b = bf16 output), filling dev_mem_bytes from the shape. */
int tw_kernel_spec_parse(tw_device *dev, const char *spec);
/* Checks a command's extents against its buffers and the kernel set. */
int tw_cmd_validate(const tw_device *dev, const tw_cmd *cmd);
/* Looks up "key" in a "k=v,k=v" option string; copies its value. Returns 1
 * if found, 0 if not. */
int tw_option_get(const char *options, const char *key, char *value, size_t cap);
/* Checks that every item of a "key=value,..." option string has a value
 * and a key among `keys` (NULL-terminated); TW_EINVAL naming the offending
 * key and listing the valid ones otherwise.  NULL or "" passes. */
int tw_device_options_check(const char *device, const char *options, const char *const *keys,
                            tw_errbuf *err);
/* "key" as a whole decimal number: 1 and *value set when present and well
 * formed, 0 when absent, -1 when malformed.  Callers check the range. */
int tw_option_number(const char *options, const char *key, double *value);

/* Host-memory buffers (for devices whose memory is host memory). */
int tw_host_buffer_alloc(tw_device *dev, size_t bytes, tw_dbuf **out);
void tw_host_buffer_free(tw_device *dev, tw_dbuf *buf);
/* Validates and runs one command on host-memory buffers; kernels run the
 * portable tile kernel. */
int tw_host_cmd_run(tw_device *dev, const tw_cmd *cmd);

/* Synchronous host devices (ref, fixed): submit() runs the commands at once
 * and times them; wait() reports those times.  dev->impl must point to a
 * tw_sync_state.  `kernel`, when set, replaces the tile kernel. */
typedef struct tw_sync_state {
  uint64_t fence;
  tw_exec_times pending;
  void (*kernel)(const tw_cmd *cmd);
} tw_sync_state;
int tw_sync_submit(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence);
int tw_sync_wait(tw_device *dev, uint64_t fence, tw_exec_times *times);
void tw_sync_destroy(tw_device *dev);

#endif

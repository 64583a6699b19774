/* The BF16 tile GEMM engine.
 *
 * Two objects, as in whisper.cpp's context/state split:
 *  - a device (device.h), shared: weights are prepared on it once
 *    (converted, laid out and made resident) and then only read;
 *  - a stream, one per thread of work: the plan cache, scratch buffers,
 *    statistics, the last error message and a worker pool.
 *
 *     C (M x N, fp32, row-major) = A (M x K, fp32 or bf16) . W (K x N) [+ bias]
 *
 * Threads: any number of streams may run tw_gemm on one device's weights at
 * the same time; one stream must not be used from two threads at once.
 * Ownership: tw_stream_create/tw_weight_prepare allocate; the matching
 * _destroy frees and accepts NULL.  Weights and streams must be destroyed
 * before their device.  Input arrays are only read during the call; the
 * weight keeps its own copy of the data and of the bias.  C is written only
 * when the call succeeds (a failing call leaves C untouched). */
#ifndef TILEWHISPER_GEMM_H
#define TILEWHISPER_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/device.h"
#include "tilewhisper/export.h"
#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_stream tw_stream;
typedef struct tw_weight tw_weight;

/* 0 means "the default" wherever a dtype is optional. */
typedef enum tw_dtype {
  TW_DTYPE_DEFAULT = 0,
  TW_DTYPE_F32 = 1,
  TW_DTYPE_BF16 = 2,
  TW_DTYPE_F16 = 3 /* IEEE half; accepted as a weight source only */
} tw_dtype;

typedef struct tw_stream_options {
  /* Worker threads of the stream's own pool; 0 = all cores. */
  int threads;
  /* 1: run on the device's pool instead of starting threads; only for a
   * stream that never runs while another user of that pool does (such as
   * the only stream of a device). */
  int borrow_device_pool;
  /* Scratch reserved at creation for products up to m x k x n (0 = none),
   * so that calls within that size never allocate. */
  size_t reserve_m, reserve_k, reserve_n;
} tw_stream_options;

TW_API void tw_stream_options_init(tw_stream_options *opts);

/* opts may be NULL (own pool on all cores, nothing reserved). */
TW_API int tw_stream_create(tw_device *dev, const tw_stream_options *opts, tw_stream **out);
TW_API void tw_stream_destroy(tw_stream *s);
/* Reserves scratch for products up to m x k x n (see tw_stream_options). */
TW_API int tw_stream_reserve(tw_stream *s, size_t m, size_t k, size_t n);

/* Message of the last failing call on this stream ("" if none). */
TW_API const char *tw_stream_last_error(const tw_stream *s);
TW_API tw_device *tw_stream_device(const tw_stream *s);
TW_API int tw_stream_threads(const tw_stream *s);

typedef struct tw_weight_desc {
  /* K x N row-major with leading dimension ld (>= N); or, when `transposed`
   * is set, N x K row-major with ld >= K (PyTorch's Linear weight layout). */
  const void *data;
  tw_dtype dtype; /* F32, BF16 or F16 */
  size_t k, n, ld;
  int transposed;
  const float *bias; /* optional, N values */
  /* How the device stores the weight: TW_DTYPE_BF16 (the default, half the
   * memory) or TW_DTYPE_F32 where the device offers it (cpu). */
  tw_dtype storage;
  const char *name; /* optional, used in error messages */
} tw_weight_desc;

/* Prepares a weight on the device (messages: tw_device_last_error).  Not
 * to be called while another thread prepares on the same device. */
TW_API int tw_weight_prepare(tw_device *dev, const tw_weight_desc *desc, tw_weight **out);
TW_API void tw_weight_destroy(tw_weight *w);

/* Replaces the weight's values in place (same shape, dtype and layout as at
 * prepare time, new data pointer and leading dimension), reusing its device
 * storage: no allocation.  For operands that change per call but are used as
 * the B side of a GEMM, such as attention's K^T and V: such a weight belongs
 * to one stream, which does the conversion work and gets any error. */
TW_API int tw_weight_update(tw_stream *s, tw_weight *w, const void *data, size_t ld);
TW_API size_t tw_weight_k(const tw_weight *w);
TW_API size_t tw_weight_n(const tw_weight *w);

/* What one call cost.  Times in seconds.  `predicted_s` is the planner's
 * estimate from the device's cost figures; `modeled_device_s` is the device's
 * own modeled time where the device models one (emulated devices), else 0. */
typedef struct tw_gemm_stats {
  uint64_t calls;
  uint64_t invocations;
  uint64_t submissions;
  uint64_t bytes_to_device;
  uint64_t bytes_from_device;
  double useful_flops; /* 2 M N K */
  double padded_flops; /* flops the kernels executed, padding included */
  double host_prep_s;  /* conversion, padding, host-side accumulation */
  double transfer_s;   /* host<->device copies */
  double compute_s;    /* kernel execution on the device */
  double wait_s;       /* host blocked on the device */
  double total_s;      /* wall time of the call */
  double predicted_s;
  double modeled_device_s;
} tw_gemm_stats;

/* Constraints on the plan; zero-initialise for "the planner decides". */
typedef struct tw_gemm_options {
  const char *kernel;  /* force a kernel by name, "MxKxN" */
  int host_k_loop;     /* accumulate over K on the host, as the seed did */
  int max_batch;       /* cap on invocations per submission; 0 = none */
  /* How A enters the kernels: BF16 (the default, as an accelerator takes it)
   * or F32 where the device computes in fp32 (cpu). */
  tw_dtype a_compute;
  /* What is applied to C after the product and bias: TW_EPILOGUE_NONE, or
   * TW_EPILOGUE_GELU (C = GELU(A.W + bias), the erf GELU in fp32).  The cpu
   * device applies it to each block of C while it is in cache; on the other
   * devices the engine applies it after the product. */
  int epilogue;
} tw_gemm_options;

enum { TW_EPILOGUE_NONE = 0, TW_EPILOGUE_GELU = 1 };

/* A is m x k with leading dimension lda >= k; k must equal the weight's K.
 * C is m x N with ldc >= N.  stats may be NULL. */
TW_API int tw_gemm(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
            const tw_weight *w, float *c, size_t ldc, tw_gemm_stats *stats);

TW_API int tw_gemm_ex(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
               const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
               tw_gemm_stats *stats);

/* What a call of that shape would cost on the stream's device, without
 * running it: the plan's invocations, submissions, bytes and padded flops,
 * and its predicted time (the other fields 0).  `b_per_call` adds the upload
 * of a K x N weight refilled for the call (as attention's operands are). */
TW_API int tw_gemm_plan(tw_stream *s, size_t m, size_t k, size_t n, const tw_gemm_options *opts,
                        int b_per_call, tw_gemm_stats *out);

/* How the stream's last successful product was run. */
typedef struct tw_plan_info {
  int direct;          /* one invocation of an any-shape kernel (cpu) */
  char kernel[32];     /* the kernel's name ("any" when direct) */
  int column_order;    /* invocations walk columns of C first (else rows) */
  int host_k;          /* partial products over K summed on the host */
  size_t batch;        /* invocations per submission */
  size_t m_tiles, k_tiles, n_tiles;
  size_t m_pad, k_pad, n_pad; /* the problem padded to whole tiles */
} tw_plan_info;

TW_API int tw_stream_last_plan_info(const tw_stream *s, tw_plan_info *out);

/* Running totals since creation or the last reset. */
TW_API void tw_stream_stats(const tw_stream *s, tw_gemm_stats *out);
TW_API void tw_stream_stats_reset(tw_stream *s);

#ifdef __cplusplus
}
#endif
#endif

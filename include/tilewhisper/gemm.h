/* The BF16 tile GEMM engine.
 *
 * A context owns one device, a plan cache, a thread pool and running totals.
 * Weights are prepared once (converted, laid out and made resident on the
 * device) and then used by any number of tw_gemm calls on that context:
 *
 *     C (M x N, fp32, row-major) = A (M x K, fp32 or bf16) . W (K x N) [+ bias]
 *
 * Ownership: tw_context_create/tw_weight_prepare allocate; the matching
 * _destroy frees and accepts NULL.  A weight must be destroyed before its
 * context.  Input arrays are only read during the call and may be freed right
 * after it; the weight keeps its own copy of the data and of the bias.  C is
 * written only when the call succeeds (a failing call leaves C untouched).
 * One context must not be used from two threads at once. */
#ifndef TILEWHISPER_GEMM_H
#define TILEWHISPER_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_context tw_context;
typedef struct tw_weight tw_weight;

/* 0 means "the default" wherever a dtype is optional. */
typedef enum tw_dtype {
  TW_DTYPE_DEFAULT = 0,
  TW_DTYPE_F32 = 1,
  TW_DTYPE_BF16 = 2,
  TW_DTYPE_F16 = 3 /* IEEE half; accepted as a weight source only */
} tw_dtype;

typedef struct tw_context_options {
  /* "cpu" (default), "ref", "fixed", "emu", "opencl" or "opencl:P.D". */
  const char *device;
  /* Worker threads for host-side work and the CPU device; 0 = all cores. */
  int threads;
  /* Kernel set for fixed-shape devices: "MxKxN[a],..." where a trailing 'a'
   * marks a kernel that accumulates over K on the device.  NULL = default. */
  const char *kernels;
  /* Device-specific "key=value,key=value" options; NULL = defaults. */
  const char *device_options;
} tw_context_options;

void tw_context_options_init(tw_context_options *opts);

int tw_context_create(const tw_context_options *opts, tw_context **out);
void tw_context_destroy(tw_context *ctx);

/* Message of the last failing call on this context ("" if none). */
const char *tw_context_last_error(const tw_context *ctx);
const char *tw_context_device_name(const tw_context *ctx);
int tw_context_threads(const tw_context *ctx);

typedef struct tw_weight_desc {
  /* K x N row-major with leading dimension ld (>= N); or, when `transposed`
   * is set, N x K row-major with ld >= K (PyTorch's Linear weight layout). */
  const void *data;
  tw_dtype dtype; /* F32, BF16 or F16 */
  size_t k, n, ld;
  int transposed;
  const float *bias; /* optional, N values */
  /* How the device stores the weight: TW_DTYPE_BF16 (the default, half the
   * memory) or TW_DTYPE_F32 where the device offers it (cpu, ref). */
  tw_dtype storage;
  const char *name; /* optional, used in error messages */
} tw_weight_desc;

int tw_weight_prepare(tw_context *ctx, const tw_weight_desc *desc, tw_weight **out);
void tw_weight_destroy(tw_weight *w);

/* Replaces the weight's values in place (same shape, dtype and layout as at
 * prepare time, new data pointer and leading dimension), reusing its device
 * storage: no allocation.  For operands that change per call but are used as
 * the B side of a GEMM, such as attention's K^T and V. */
int tw_weight_update(tw_weight *w, const void *data, size_t ld);
size_t tw_weight_k(const tw_weight *w);
size_t tw_weight_n(const tw_weight *w);

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
   * or F32 where the device computes in fp32 (cpu, ref). */
  tw_dtype a_compute;
} tw_gemm_options;

/* A is m x k with leading dimension lda >= k; k must equal the weight's K.
 * C is m x N with ldc >= N.  stats may be NULL. */
int tw_gemm(tw_context *ctx, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
            const tw_weight *w, float *c, size_t ldc, tw_gemm_stats *stats);

int tw_gemm_ex(tw_context *ctx, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
               const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
               tw_gemm_stats *stats);

/* Running totals since creation or the last reset. */
void tw_context_stats(const tw_context *ctx, tw_gemm_stats *out);
void tw_context_stats_reset(tw_context *ctx);

#ifdef __cplusplus
}
#endif
#endif

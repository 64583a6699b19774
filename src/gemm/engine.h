/* Private structures of the engine: the context and the prepared weight. */
#ifndef TW_GEMM_ENGINE_H
#define TW_GEMM_ENGINE_H

#include "core/error.h"
#include "core/threadpool.h"
#include "device/device.h"
#include "gemm/plan.h"
#include "tilewhisper/gemm.h"

#define TW_PLAN_CACHE 64

typedef struct tw_plan_entry {
  tw_plan_request req;
  tw_plan plan;
  int used;
  uint64_t last_use;
} tw_plan_entry;

/* Host staging and device buffers reused across calls; grown, never shrunk.
 * Every capacity is in bytes. */
typedef struct tw_scratch {
  tw_bf16 *a_host; /* m_pad x k_pad bf16, padded A */
  size_t a_host_cap;
  float *c_host; /* m_pad x n_pad fp32 result staging */
  size_t c_host_cap;
  void *partials; /* host copies of partial tiles (host K loop) */
  size_t partials_cap;
  tw_cmd *cmds; /* command list of one submission */
  size_t cmds_cap;
  tw_dbuf *a_dev, *c_dev;
} tw_scratch;

struct tw_context {
  tw_device *dev;
  tw_threadpool *pool;
  int threads;
  tw_errbuf err;
  tw_gemm_stats totals;
  tw_plan_entry plans[TW_PLAN_CACHE];
  uint64_t plan_clock;
  tw_scratch scratch;
  tw_plan last_plan; /* plan of the last successful call */
  size_t resident_bytes; /* device memory held by live weights */
};

struct tw_weight {
  tw_context *ctx;
  size_t k, n;
  tw_dtype dtype;
  int transposed;
  tw_dtype storage;
  float *bias; /* owned copy, or NULL */
  char name[64];
  /* direct path */
  void *handle;
  /* queue path: bf16 row-major k_pad x n_pad in device memory */
  tw_dbuf *buf;
  size_t k_pad, n_pad;
  tw_bf16 *staging; /* host conversion buffer kept for tw_weight_update */
};

/* Executes C = A.W (+bias) with `plan` on the context's device. */
int tw_execute(tw_context *ctx, const tw_plan *plan, size_t m, const void *a, tw_dtype a_type,
               size_t lda, const tw_weight *w, float *c, size_t ldc, tw_dtype a_compute,
               tw_gemm_stats *st);

/* Converts the weight source into w->staging (bf16, padded, zero-filled). */
void tw_weight_convert_bf16(const tw_weight *w, const void *data, size_t ld);

void tw_stats_add(tw_gemm_stats *total, const tw_gemm_stats *s);

#endif

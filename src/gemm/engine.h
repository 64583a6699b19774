/* Private structures of the engine: the stream and the prepared weight. */
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

/* One stream of work on a shared device: everything a call mutates. */
struct tw_stream {
  tw_device *dev;          /* borrowed, shared with other streams */
  tw_threadpool *pool;     /* own_pool, or the device's when borrowed */
  tw_threadpool *own_pool;
  void *dev_stream;        /* the device's per-stream state (stream_create), or NULL */
  tw_errbuf err;
  tw_gemm_stats totals;
  tw_plan_entry plans[TW_PLAN_CACHE];
  uint64_t plan_clock;
  tw_scratch scratch;
  tw_plan last_plan; /* plan of the last successful call */
};

struct tw_weight {
  tw_device *dev;
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

/* Executes C = A.W (+bias) with `plan` on the stream's device; a direct
 * plan passes `epilogue` and `cols` (or NULL) to the device (which must
 * have them in its iface), a planned one ignores them. */
int tw_execute(tw_stream *s, const tw_plan *plan, size_t m, const void *a, tw_dtype a_type,
               size_t lda, const tw_weight *w, float *c, size_t ldc, tw_dtype a_compute,
               int epilogue, const tw_weight_cols_args *cols, tw_gemm_stats *st);

/* Converts the weight source into w->staging (bf16, padded, zero-filled),
 * spread over `pool`. */
void tw_weight_convert_bf16(tw_threadpool *pool, const tw_weight *w, const void *data, size_t ld);

/* Grows the stream's host and device scratch for a planned call; allocates
 * only when a buffer is too small. */
int tw_scratch_reserve(tw_stream *s, const tw_plan *p, size_t m, size_t k);

/* tw_weight_update of n weights of this stream's device, all with row
 * stride ld, spread over the stream's pool where the device packs in place
 * (each weight has its own packing buffer); otherwise one after another. */
int tw_weight_update_many(tw_stream *s, size_t n, tw_weight *const *w, const void *const *data,
                          size_t ld);
/* At most this many weights per tw_weight_cols_args built by the engine. */
#define TW_COLS_MAX 128
/* The device handles and layouts of n weights for a tw_weight_cols_args:
 * 1, or 0 when one is not a prepared fp32-source weight of the stream's
 * device (or n > TW_COLS_MAX). */
int tw_weight_cols_handles(const tw_stream *s, size_t n, tw_weight *const *w, void **handles,
                           int *transposed);
/* Refills n weights whose fp32 sources are column blocks of one row-major
 * matrix (data, row stride ld): weight i from column col[i], `rows` source
 * rows (its N when transposed, else its K).  One pass over the matrix where
 * the device has weight_update_cols, else tw_weight_update_many. */
int tw_weight_update_cols(tw_stream *s, size_t n, tw_weight *const *w, const float *data,
                          size_t ld, size_t rows, const size_t *col);
/* C = A.W (+bias) as tw_gemm_ex, and the n weights fed by column blocks of
 * C (as tw_weight_update_cols: weight i from column col[i], m source rows)
 * written from it: by the device block by block, while each block is in
 * cache, where it can (C's contents are then unspecified), else refilled
 * after the product. */
int tw_gemm_into_cols(tw_stream *s, size_t m, size_t k, const void *a, tw_dtype a_type, size_t lda,
                      const tw_weight *w, float *c, size_t ldc, const tw_gemm_options *opts,
                      size_t n, tw_weight *const *wts, const size_t *col);

void tw_stats_add(tw_gemm_stats *total, const tw_gemm_stats *s);

#endif

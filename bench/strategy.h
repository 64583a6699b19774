/* Dispatch strategies: the ways the seed and the engine put one GEMM on a
 * fixed-shape device, so they can be compared on the same device.
 *
 *   naive           the seed's loop (tw_study_tile_gemm, study.h): per
 *                   invocation, device buffers are allocated and freed, both
 *                   operand tiles converted to bf16 on the host, one
 *                   64x64x64 tile computed, K summed on the host.  One
 *                   submission per invocation.
 *   host-batched    the seed's failed fix: column tiles grouped in the host
 *                   loop, still one 64x64x64 invocation each (same count).
 *   kernel-64x512   the engine with kernel 64x64x512 forced, K on the host.
 *   kernel-128x512  the engine with kernel 128x64x512 forced, K on the host.
 *   planned         the engine's own plan on the device's kernel set.
 *   planned-large   the same on a device created with large=1 (K-accumulating
 *                   512x512x512a and whole-problem 3008x512x512a kernels).
 *
 * A, W and C are fp32, dense row-major (lda = K, ldw = ldc = N). */
#ifndef TW_BENCH_STRATEGY_H
#define TW_BENCH_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/gemm.h"
#include "tilewhisper/study.h"

typedef enum tw_strategy_id {
  TW_STRATEGY_NAIVE = 0,
  TW_STRATEGY_HOST_BATCHED,
  TW_STRATEGY_KERNEL_64X512,
  TW_STRATEGY_KERNEL_128X512,
  TW_STRATEGY_PLANNED,
  TW_STRATEGY_PLANNED_LARGE,
  TW_STRATEGY_COUNT
} tw_strategy_id;

typedef struct tw_strategy {
  const char *name;
  const char *kernel; /* kernel forced by name, NULL = the planner's choice */
  int host_k_loop;    /* partial products summed on the host, as the seed */
  int tiles;          /* the seed's per-tile loop (64x64x64), not the engine */
  int batch_cols;     /* tiles: column tiles grouped per pass of the host loop */
  int large;          /* wants a device created with large=1 */
} tw_strategy;

/* NULL when id is out of range. */
const tw_strategy *tw_strategy_get(int id);
/* Id of a strategy by name, or -1. */
int tw_strategy_find(const char *name);

/* What the strategy would do for C(m x n) = A(m x k) . B(k x n) on the
 * stream's device, without running it (invocations, submissions, bytes each
 * way, padded flops): the seed's tiling formula for the tile strategies, the
 * engine's planner for the others.  With b_per_call, the engine strategies
 * also upload B in the call (one more submission and k_pad x n_pad bf16),
 * as attention's K^T and V need; otherwise B is a resident weight uploaded
 * before.  Errors carry the stream's message. */
int tw_strategy_count(tw_stream *s, int id, size_t m, size_t k, size_t n, int b_per_call,
                      tw_gemm_stats *out);

/* Runs the strategy.  For the engine strategies B is prepared as a weight
 * first, outside the stats (resident, as in the engine); *st then holds the
 * GEMM call's statistics.  For the tile strategies *st covers everything:
 * each tile's conversion, allocation, upload, kernel and read-back. */
int tw_strategy_run(tw_stream *s, int id, size_t m, size_t k, size_t n, const float *a,
                    const float *b, float *c, tw_gemm_stats *st);

#endif

/* Dispatch strategies; see strategy.h.  A client of the public API. */
#include "strategy.h"

#include <stdio.h>
#include <string.h>

static const tw_strategy strategies[TW_STRATEGY_COUNT] = {
    {.name = "naive", .host_k_loop = 1, .tiles = 1, .batch_cols = 1},
    {.name = "host-batched", .host_k_loop = 1, .tiles = 1, .batch_cols = 8},
    {.name = "kernel-64x512", .kernel = "64x64x512", .host_k_loop = 1},
    {.name = "kernel-128x512", .kernel = "128x64x512", .host_k_loop = 1},
    {.name = "planned"},
    {.name = "planned-large", .large = 1},
};

const tw_strategy *tw_strategy_get(int id) {
  return id >= 0 && id < TW_STRATEGY_COUNT ? &strategies[id] : NULL;
}

int tw_strategy_find(const char *name) {
  for (int i = 0; name && i < TW_STRATEGY_COUNT; i++)
    if (strcmp(strategies[i].name, name) == 0) return i;
  return -1;
}

/* The study only means something on a queue device (its kernel shapes are
 * what is compared). */
static int check_queue_device(tw_stream *s, const tw_strategy *st) {
  tw_device_info info;
  int rc = tw_device_query(tw_stream_device(s), &info);
  if (rc) return rc;
  if (!st || info.packed_weights) {
    fprintf(stderr, "strategy %s: device %s has no command queue (fixed-shape devices only)\n",
            st ? st->name : "?", info.name);
    return TW_EUNSUPPORTED;
  }
  return TW_OK;
}

int tw_strategy_count(tw_stream *s, int id, size_t m, size_t k, size_t n, int b_per_call,
                      tw_gemm_stats *out) {
  memset(out, 0, sizeof *out);
  const tw_strategy *st = tw_strategy_get(id);
  int rc = check_queue_device(s, st);
  if (rc) return rc;
  if (st->tiles) return tw_study_tile_count(s, m, k, n, out);
  tw_gemm_options o = {.kernel = st->kernel, .host_k_loop = st->host_k_loop};
  return tw_gemm_plan(s, m, k, n, &o, b_per_call, out);
}

static int run_engine(tw_stream *s, const tw_strategy *st, size_t m, size_t k, size_t n,
                      const float *a, const float *b, float *c, tw_gemm_stats *stats) {
  tw_weight_desc d = {.data = b, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n, .name = "B"};
  tw_weight *w = NULL;
  tw_device *dev = tw_stream_device(s);
  int rc = tw_weight_prepare(dev, &d, &w);
  if (rc) {
    fprintf(stderr, "strategy %s: %s\n", st->name, tw_device_last_error(dev));
    return rc;
  }
  tw_gemm_options o = {.kernel = st->kernel, .host_k_loop = st->host_k_loop};
  rc = tw_gemm_ex(s, m, k, a, TW_DTYPE_F32, k, w, c, n, &o, stats);
  tw_weight_destroy(w);
  return rc;
}

int tw_strategy_run(tw_stream *s, int id, size_t m, size_t k, size_t n, const float *a,
                    const float *b, float *c, tw_gemm_stats *stats) {
  memset(stats, 0, sizeof *stats);
  const tw_strategy *st = tw_strategy_get(id);
  int rc = check_queue_device(s, st);
  if (rc) return rc;
  if (st->tiles) return tw_study_tile_gemm(s, m, k, n, a, b, c, st->batch_cols, stats);
  return run_engine(s, st, m, k, n, a, b, c, stats);
}

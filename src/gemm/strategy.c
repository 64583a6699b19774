/* Dispatch strategies; see strategy.h. */
#include "gemm/strategy.h"

#include <stdlib.h>
#include <string.h>

#include "core/timing.h"
#include "gemm/engine.h"

#define TILE 64

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

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

static int find_kernel(const tw_device *dev, const char *name) {
  for (int i = 0; i < dev->n_kernels; i++)
    if (strcmp(dev->kernels[i].name, name) == 0) return i;
  return -1;
}

/* The seed's kernel: a fixed 64x64x64 tile (fp32 or bf16 output). */
static int find_tile_kernel(const tw_device *dev) {
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    if (ki->mk == TILE && ki->kk == TILE && ki->nk == TILE && !(ki->flags & TW_KERNEL_ANY_SHAPE))
      return i;
  }
  return -1;
}

static int check_queue_device(tw_context *ctx, const tw_strategy *s) {
  if (!s) return tw_err(&ctx->err, TW_EINVAL, "strategy: unknown strategy id");
  tw_device *dev = ctx->dev;
  if (dev->iface->gemm || !dev->iface->submit)
    return tw_err(&ctx->err, TW_EUNSUPPORTED,
                  "strategy %s: device %s has no command queue (fixed-shape devices only)",
                  s->name, dev->name);
  if (s->tiles && find_tile_kernel(dev) < 0)
    return tw_err(&ctx->err, TW_EUNSUPPORTED, "strategy %s: device %s has no 64x64x64 kernel",
                  s->name, dev->name);
  if (s->kernel && find_kernel(dev, s->kernel) < 0)
    return tw_err(&ctx->err, TW_ENOTFOUND, "strategy %s: device %s has no kernel %s", s->name,
                  dev->name, s->kernel);
  return TW_OK;
}

static size_t tile_out_elem(const tw_device *dev) {
  return (dev->kernels[find_tile_kernel(dev)].flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
}

static int count_engine(tw_context *ctx, const tw_strategy *s, size_t m, size_t k, size_t n,
                        int b_per_call, tw_strategy_counts *out) {
  tw_device *dev = ctx->dev;
  size_t km, nm;
  tw_plan_weight_padding(dev, &km, &nm);
  size_t b_bytes = ceil_div(k, km) * km * ceil_div(n, nm) * nm * 2;
  tw_plan_request req;
  memset(&req, 0, sizeof req);
  req.m = m;
  req.k = k;
  req.n = n;
  req.kernel = s->kernel ? find_kernel(dev, s->kernel) : -1;
  req.host_k_loop = s->host_k_loop;
  req.weight_bytes = b_bytes;
  tw_plan plan;
  int rc = tw_plan_choose(dev, &req, &plan, &ctx->err);
  if (rc) return rc;
  out->invocations = plan.invocations;
  out->submissions = plan.submissions + (b_per_call ? 1 : 0);
  out->bytes_to_device = plan.bytes_to_device + (b_per_call ? b_bytes : 0);
  out->bytes_from_device = plan.bytes_from_device;
  out->padded_flops = plan.padded_flops;
  return TW_OK;
}

int tw_strategy_count(tw_context *ctx, int id, size_t m, size_t k, size_t n, int b_per_call,
                      tw_strategy_counts *out) {
  memset(out, 0, sizeof *out);
  const tw_strategy *s = tw_strategy_get(id);
  int rc = check_queue_device(ctx, s);
  if (rc) return rc;
  if (!s->tiles) return count_engine(ctx, s, m, k, n, b_per_call, out);
  /* one submission per 64x64x64 call: A and B tiles up, the C tile back */
  uint64_t inv = (uint64_t)ceil_div(m, TILE) * ceil_div(n, TILE) * ceil_div(k, TILE);
  out->invocations = inv;
  out->submissions = inv;
  out->bytes_to_device = inv * 2 * TILE * TILE * 2;
  out->bytes_from_device = inv * TILE * TILE * tile_out_elem(ctx->dev);
  out->padded_flops = 2.0 * (double)inv * TILE * TILE * TILE;
  return TW_OK;
}

/* ---- the seed's per-tile loop ---- */

typedef struct tile_loop {
  tw_context *ctx;
  tw_device *dev;
  int kernel;
  size_t out_elem;
  size_t m, k, n;
  const float *a, *b;
  float *c;
  tw_bf16 at[TILE * TILE], bt[TILE * TILE];
  float ct[TILE * TILE]; /* fp32 or (first half) bf16 output tile */
  tw_gemm_stats *st;
  tw_exec_times times;
} tile_loop;

/* Rows r0.., columns c0.. of a rows x cols fp32 matrix into a zero-padded
 * 64x64 bf16 tile. */
static void pack_tile(const float *src, size_t rows, size_t cols, size_t r0, size_t c0,
                      tw_bf16 *dst) {
  memset(dst, 0, TILE * TILE * sizeof *dst);
  size_t nr = rows - r0 < TILE ? rows - r0 : TILE, nc = cols - c0 < TILE ? cols - c0 : TILE;
  for (size_t r = 0; r < nr; r++) tw_fp32_to_bf16_n(src + (r0 + r) * cols + c0, dst + r * TILE, nc);
}

/* One device call as the seed made it: allocate, upload A and B tiles, run,
 * read C back, free. */
static int tile_call(tile_loop *t) {
  tw_device *dev = t->dev;
  tw_dbuf *da = NULL, *db = NULL, *dc = NULL;
  size_t tile_bytes = TILE * TILE * 2, c_bytes = TILE * TILE * t->out_elem;
  int rc = dev->iface->buffer_alloc(dev, tile_bytes, &da);
  if (!rc) rc = dev->iface->buffer_alloc(dev, tile_bytes, &db);
  if (!rc) rc = dev->iface->buffer_alloc(dev, c_bytes, &dc);
  if (!rc) {
    tw_cmd cmds[4] = {
        {.op = TW_CMD_WRITE, .buf = da, .bytes = tile_bytes, .src = t->at},
        {.op = TW_CMD_WRITE, .buf = db, .bytes = tile_bytes, .src = t->bt},
        {.op = TW_CMD_KERNEL, .kernel = t->kernel, .a = da, .b = db, .c = dc, .lda = TILE,
         .ldb = TILE, .ldc = TILE, .m = TILE, .k = TILE, .n = TILE},
        {.op = TW_CMD_READ, .buf = dc, .bytes = c_bytes, .dst = t->ct},
    };
    uint64_t fence;
    double t0 = tw_now();
    rc = dev->iface->submit(dev, cmds, 4, &fence);
    if (!rc) rc = dev->iface->wait(dev, fence, &t->times);
    t->st->wait_s += tw_now() - t0;
    t->st->invocations++;
    t->st->submissions++;
    t->st->bytes_to_device += 2 * tile_bytes;
    t->st->bytes_from_device += c_bytes;
  }
  dev->iface->buffer_free(dev, dc);
  dev->iface->buffer_free(dev, db);
  dev->iface->buffer_free(dev, da);
  return rc;
}

/* C tile (i, j) (+)= the tile just read back; p == 0 overwrites. */
static void add_tile(tile_loop *t, size_t i, size_t j, size_t p) {
  size_t nr = t->m - i * TILE < TILE ? t->m - i * TILE : TILE;
  size_t nc = t->n - j * TILE < TILE ? t->n - j * TILE : TILE;
  for (size_t r = 0; r < nr; r++) {
    float *crow = t->c + (i * TILE + r) * t->n + j * TILE;
    for (size_t q = 0; q < nc; q++) {
      float v = t->out_elem == 2 ? tw_bf16_to_fp32(((const tw_bf16 *)t->ct)[r * TILE + q])
                                 : t->ct[r * TILE + q];
      crow[q] = p == 0 ? v : crow[q] + v;
    }
  }
}

/* for i: for column batch: for p: for j in batch -- the seed's loop order
 * (batch 1 is the plain i, j, p loop).  A's tile is packed once per (i, p)
 * and batch; B's per call. */
static int tile_loop_run(tile_loop *t, size_t batch) {
  size_t mt = ceil_div(t->m, TILE), nt = ceil_div(t->n, TILE), kt = ceil_div(t->k, TILE);
  for (size_t i = 0; i < mt; i++)
    for (size_t j0 = 0; j0 < nt; j0 += batch)
      for (size_t p = 0; p < kt; p++) {
        double t0 = tw_now();
        pack_tile(t->a, t->m, t->k, i * TILE, p * TILE, t->at);
        t->st->host_prep_s += tw_now() - t0;
        for (size_t j = j0; j < j0 + batch && j < nt; j++) {
          t0 = tw_now();
          pack_tile(t->b, t->k, t->n, p * TILE, j * TILE, t->bt);
          t->st->host_prep_s += tw_now() - t0;
          int rc = tile_call(t);
          if (rc)
            return tw_err(&t->ctx->err, rc, "strategy: tile (%zu, %zu, %zu) on %s: %s", i, j, p,
                          t->dev->name, t->dev->err.msg);
          t0 = tw_now();
          add_tile(t, i, j, p);
          t->st->host_prep_s += tw_now() - t0;
        }
      }
  return TW_OK;
}

static int run_tiles(tw_context *ctx, const tw_strategy *s, size_t m, size_t k, size_t n,
                     const float *a, const float *b, float *c, tw_gemm_stats *st) {
  tile_loop *t = calloc(1, sizeof *t);
  if (!t) return tw_err(&ctx->err, TW_ENOMEM, "strategy %s: out of memory", s->name);
  t->ctx = ctx;
  t->dev = ctx->dev;
  t->kernel = find_tile_kernel(ctx->dev);
  t->out_elem = tile_out_elem(ctx->dev);
  t->m = m;
  t->k = k;
  t->n = n;
  t->a = a;
  t->b = b;
  t->c = c;
  t->st = st;
  double t0 = tw_now();
  int rc = tile_loop_run(t, (size_t)s->batch_cols);
  st->total_s = tw_now() - t0;
  st->transfer_s = t->times.transfer_s;
  st->compute_s = t->times.compute_s;
  st->modeled_device_s = t->times.modeled_s;
  st->calls = 1;
  st->useful_flops = 2.0 * (double)m * (double)k * (double)n;
  st->padded_flops = 2.0 * (double)st->invocations * TILE * TILE * TILE;
  free(t);
  return rc;
}

static int run_engine(tw_context *ctx, const tw_strategy *s, size_t m, size_t k, size_t n,
                      const float *a, const float *b, float *c, tw_gemm_stats *st) {
  tw_weight_desc d = {.data = b, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n, .name = "B"};
  tw_weight *w = NULL;
  int rc = tw_weight_prepare(ctx, &d, &w);
  if (rc) return rc;
  tw_gemm_options o = {.kernel = s->kernel, .host_k_loop = s->host_k_loop};
  rc = tw_gemm_ex(ctx, m, k, a, TW_DTYPE_F32, k, w, c, n, &o, st);
  tw_weight_destroy(w);
  return rc;
}

int tw_strategy_run(tw_context *ctx, int id, size_t m, size_t k, size_t n, const float *a,
                    const float *b, float *c, tw_gemm_stats *st) {
  memset(st, 0, sizeof *st);
  const tw_strategy *s = tw_strategy_get(id);
  int rc = check_queue_device(ctx, s);
  if (rc) return rc;
  if (!a || !b || !c || m == 0 || k == 0 || n == 0)
    return tw_err(&ctx->err, TW_EINVAL, "strategy %s: empty problem or NULL operand", s->name);
  return s->tiles ? run_tiles(ctx, s, m, k, n, a, b, c, st)
                  : run_engine(ctx, s, m, k, n, a, b, c, st);
}

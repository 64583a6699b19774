/* The seed's per-tile loop (include/tilewhisper/study.h). */
#include "tilewhisper/study.h"

#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "gemm/engine.h"

#define TILE TW_STUDY_TILE

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* The seed's kernel: a fixed 64x64x64 tile (fp32 or bf16 output). */
static int find_tile_kernel(const tw_device *dev) {
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *ki = &dev->kernels[i];
    if (ki->mk == TILE && ki->kk == TILE && ki->nk == TILE && !(ki->flags & TW_KERNEL_ANY_SHAPE))
      return i;
  }
  return -1;
}

static size_t tile_out_elem(const tw_device *dev) {
  return (dev->kernels[find_tile_kernel(dev)].flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
}

static int check_tile_device(tw_stream *s) {
  const tw_device *dev = s->dev;
  if (dev->layout != TW_LAYOUT_TILED || !dev->iface->submit)
    return tw_err(&s->err, TW_EUNSUPPORTED,
                  "tile loop: device %s has no command queue (fixed-shape devices only)",
                  dev->name);
  if (find_tile_kernel(dev) < 0)
    return tw_err(&s->err, TW_EUNSUPPORTED, "tile loop: device %s has no 64x64x64 kernel",
                  dev->name);
  return TW_OK;
}

int tw_study_tile_count(tw_stream *s, size_t m, size_t k, size_t n, tw_gemm_stats *out) {
  if (!s || !out) return tw_err(s ? &s->err : NULL, TW_EINVAL, "tile count: %s is NULL",
                                s ? "out" : "stream");
  memset(out, 0, sizeof *out);
  int rc = check_tile_device(s);
  if (rc) return rc;
  /* one submission per 64x64x64 call: A and B tiles up, the C tile back */
  uint64_t inv = (uint64_t)ceil_div(m, TILE) * ceil_div(n, TILE) * ceil_div(k, TILE);
  out->calls = 1;
  out->invocations = inv;
  out->submissions = inv;
  out->bytes_to_device = inv * 2 * TILE * TILE * 2;
  out->bytes_from_device = inv * TILE * TILE * tile_out_elem(s->dev);
  out->useful_flops = 2.0 * (double)m * (double)k * (double)n;
  out->padded_flops = 2.0 * (double)inv * TILE * TILE * TILE;
  return TW_OK;
}

typedef struct tile_loop {
  tw_stream *stream;
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
            return tw_err(&t->stream->err, rc, "strategy: tile (%zu, %zu, %zu) on %s: %s", i, j, p,
                          t->dev->name, t->dev->err.msg);
          t0 = tw_now();
          add_tile(t, i, j, p);
          t->st->host_prep_s += tw_now() - t0;
        }
      }
  return TW_OK;
}

int tw_study_tile_gemm(tw_stream *s, size_t m, size_t k, size_t n, const float *a,
                       const float *b, float *c, int batch_cols, tw_gemm_stats *st) {
  if (!s || !st) return tw_err(s ? &s->err : NULL, TW_EINVAL, "tile loop: %s is NULL",
                               s ? "stats" : "stream");
  memset(st, 0, sizeof *st);
  int rc = check_tile_device(s);
  if (rc) return rc;
  if (!a || !b || !c || m == 0 || k == 0 || n == 0 || batch_cols < 1)
    return tw_err(&s->err, TW_EINVAL, "tile loop: empty problem, NULL operand or batch < 1");
  tile_loop *t = tw_calloc_aligned(1, sizeof *t);
  if (!t) return tw_err(&s->err, TW_ENOMEM, "tile loop: out of memory");
  t->stream = s;
  t->dev = s->dev;
  t->kernel = find_tile_kernel(s->dev);
  t->out_elem = tile_out_elem(s->dev);
  t->m = m;
  t->k = k;
  t->n = n;
  t->a = a;
  t->b = b;
  t->c = c;
  t->st = st;
  double t0 = tw_now();
  pthread_mutex_lock(&t->dev->lock); /* the device's one queue, as tw_gemm takes it */
  rc = tile_loop_run(t, (size_t)batch_cols);
  pthread_mutex_unlock(&t->dev->lock);
  st->total_s = tw_now() - t0;
  st->transfer_s = t->times.transfer_s;
  st->compute_s = t->times.compute_s;
  st->modeled_device_s = t->times.modeled_s;
  st->calls = 1;
  st->useful_flops = 2.0 * (double)m * (double)k * (double)n;
  st->padded_flops = 2.0 * (double)st->invocations * TILE * TILE * TILE;
  tw_free(t);
  return rc;
}


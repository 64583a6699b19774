/* The cpu device's GEMM: BLIS's loops (M x N chunks handed to threads, then
 * pc, jr, ir) around the microkernel, threads split over M and N (never K),
 * a bf16 x bf16 path where the kernel set has one (used as calibrated),
 * and a streaming path for small M.  See docs/microkernel.md. */
#include <stdatomic.h>
#include <string.h>

#include "core/mem.h"
#include "device/cpu/cpu.h"
#include "kernels/elementwise.h"

typedef struct gemm_job {
  const tw_direct_gemm *g;
  const tw_cpu_weight *w;
  const tw_cpu_impl *impl;
  const tw_cpu_scratch *sc;
  tw_ukr_fn ukr;
  tw_ukr_dp_fn ukr_dp; /* bf16 x bf16 path; A packed as k-pairs */
  tw_cpu_blocking blk;
  size_t mr; /* rows per packed A panel: the FMA kernels' or ukr_dp's */
  tw_gelu_row_fn gelu; /* the GELU epilogue, or NULL */
  int round_a;
  size_t mc, nc_panels;       /* chunk: mc rows x nc_panels NR-panels */
  size_t m_chunks, n_chunks;
  atomic_size_t next;         /* next chunk to hand out */
} gemm_job;

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* [lo, hi) of `total` units split into `parts` nearly equal ranges. */
static void split_range(size_t total, int parts, int index, size_t *lo, size_t *hi) {
  *lo = total * (size_t)index / (size_t)parts;
  *hi = total * (size_t)(index + 1) / (size_t)parts;
}

/* y = GELU(x) for an m x n block. */
static void gelu_block(tw_gelu_row_fn gelu, const float *x, size_t ldx, float *y, size_t ldy,
                       int m, int n) {
  for (int i = 0; i < m; i++) gelu(x + (size_t)i * ldx, (size_t)n, y + (size_t)i * ldy, 0);
}

/* Macro-kernel: one packed A block (mc x kc) times the weight's panels
 * [jp0, jp1) at depth pc, into C rows i0.. */
static void macro_kernel(const gemm_job *j, const float *apack, size_t i0, size_t mc, size_t pc,
                         size_t kc, size_t jp0, size_t jp1) {
  const tw_direct_gemm *g = j->g;
  const tw_cpu_weight *w = j->w;
  const size_t mr = j->mr, nr = (size_t)w->nr;
  const size_t elem = w->storage == TW_DTYPE_BF16 ? 2 : 4;
  const size_t dp_panel = j->ukr_dp ? tw_cpu_dp_panel_words(&j->impl->ks, kc) : 0;
  const int accumulate = pc > 0, last = pc + kc == w->k;
  /* Weights written from each block and one KC block: C goes to a tile on
   * the stack, never to memory (the decoder's cross K | V, 6 MiB a layer
   * for base, was written and read back only to be repacked). */
  const int tile_only = g->cols_out && pc == 0 && last;
  /* GELU with one KC block: the kernel writes the block to a tile on the
   * stack and the epilogue reads it there and writes C once.  Reading C
   * back from where the kernel had just stored it stalled on those stores
   * (AMX tile stores do not forward to loads): 1.2 of the epilogue's 2.7
   * ms on mlp.0's 1500 x 512 x 2048 at one thread. */
  const int gelu_tile = j->gelu && !tile_only && pc == 0 && last;
  float tile[TW_CPU_MAX_MR_DP * TW_CPU_MAX_NR] __attribute__((aligned(64)));
  for (size_t jp = jp0; jp < jp1; jp++) {
    const char *bp = (const char *)w->data + (jp * w->k_alloc + pc) * nr * elem;
    size_t col = jp * nr;
    int n = (int)min_size(nr, g->n - col);
    const float *bias = last && g->bias ? g->bias + col : NULL;
    for (size_t ir = 0; ir < mc; ir += mr) {
      int m = (int)min_size(mr, mc - ir);
      float *cout = g->c + (i0 + ir) * g->ldc + col;
      float *c = tile_only || gelu_tile ? tile : cout;
      const size_t ldc = tile_only || gelu_tile ? nr : g->ldc;
      if (j->ukr_dp)
        j->ukr_dp(kc, (const uint32_t *)(const void *)apack + ir / mr * dp_panel, bp, c, ldc, m,
                  n, accumulate, bias);
      else
        j->ukr(kc, apack + ir * kc, bp, c, ldc, m, n, accumulate, bias);
      if (gelu_tile)
        gelu_block(j->gelu, tile, nr, cout, g->ldc, m, n);
      else if (last && j->gelu) /* the epilogue while the block is in L1 */
        gelu_block(j->gelu, c, ldc, c, ldc, m, n);
      if (last && g->cols_out) /* and the weights it feeds (refill.c) */
        tw_cpu_cols_block(g->cols_out, c, ldc, i0 + ir, col, m, n);
    }
  }
}

/* One chunk: rows [ic, ic + mc) x panels [jp0, jp1), every KC block. */
static void run_chunk(const gemm_job *j, float *apack, size_t ic, size_t jp0, size_t jp1) {
  const tw_direct_gemm *g = j->g;
  size_t mc = min_size(j->mc, g->m - ic);
  for (size_t pc = 0; pc < g->k; pc += j->blk.kc) {
    size_t kc = min_size(j->blk.kc, g->k - pc);
    if (j->ukr_dp)
      tw_cpu_pack_a_pairs(&j->impl->ks, g->a, g->a_type, g->lda, ic, mc, pc, kc,
                          (uint32_t *)(void *)apack);
    else
      tw_cpu_pack_a(&j->impl->ks, g->a, g->a_type, g->lda, j->round_a, ic, mc, pc, kc, apack);
    macro_kernel(j, apack, ic, mc, pc, kc, jp0, jp1);
  }
}

/* Each thread takes chunks from a shared counter until none are left.  Which
 * thread computes a chunk does not change its bits: every C element is summed
 * by the same kernel over the same KC blocks in the same order. */
static void gemm_task(void *arg, size_t task, int thread) {
  (void)task;
  gemm_job *j = arg;
  float *apack = j->sc->apack + (size_t)thread * j->sc->apack_elems;
  const size_t total = j->m_chunks * j->n_chunks;
  for (;;) {
    size_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (c >= total) break;
    size_t jp0 = (c % j->n_chunks) * j->nc_panels;
    size_t jp1 = min_size(jp0 + j->nc_panels, j->w->n_panels);
    run_chunk(j, apack, (c / j->n_chunks) * j->mc, jp0, jp1);
  }
  if (j->ukr_dp && j->impl->ks.dp_end) j->impl->ks.dp_end();
}

/* Chunks: MC rows by the whole N, made smaller (MC down to 4 MR, then N
 * split) until there are at least 6 per thread, so that a thread slowed by
 * other processes leaves its share to the others. */
static void choose_chunks(gemm_job *j, int threads) {
  const size_t mr = j->mr, np = j->w->n_panels;
  const size_t want = threads > 1 ? 6 * (size_t)threads : 1;
  size_t mc = j->blk.mc;
  while (mc > 4 * mr && (j->g->m + mc - 1) / mc < want) mc = (mc / 2 + mr - 1) / mr * mr;
  size_t m_chunks = (j->g->m + mc - 1) / mc;
  size_t n_chunks = m_chunks >= want ? 1 : min_size((want + m_chunks - 1) / m_chunks, np);
  j->mc = mc;
  j->m_chunks = m_chunks;
  j->nc_panels = (np + n_chunks - 1) / n_chunks;
  j->n_chunks = (np + j->nc_panels - 1) / j->nc_panels;
}

typedef struct gemv_job {
  const tw_direct_gemm *g;
  const tw_cpu_weight *w;
  tw_gemv_fn gemv;
  tw_gemv_dp_fn gemv_dp; /* instead of gemv: A as bf16 k-pairs in a_pairs */
  const float *a;
  const uint32_t *a_pairs;
  size_t lda;
  int parts;
  void (*dp_end)(void); /* after gemv_dp calls, or NULL */
  tw_gelu_row_fn gelu;  /* the GELU epilogue, or NULL */
} gemv_job;

static void gemv_task(void *arg, size_t task, int thread) {
  (void)thread;
  const gemv_job *j = arg;
  const tw_direct_gemm *g = j->g;
  const tw_cpu_weight *w = j->w;
  const size_t nr = (size_t)w->nr, elem = w->storage == TW_DTYPE_BF16 ? 2 : 4;
  size_t p0, p1;
  split_range(w->n_panels, j->parts, (int)task, &p0, &p1);
  for (size_t jp = p0; jp < p1; jp++) {
    size_t col = jp * nr, cols = min_size(nr, g->n - col);
    const char *bp = (const char *)w->data + jp * w->k_alloc * nr * elem;
    if (j->gemv_dp) {
      j->gemv_dp((int)g->m, g->k, j->a_pairs, j->lda, bp, g->c + col, g->ldc, (int)cols,
                 g->bias ? g->bias + col : NULL);
    } else {
      for (size_t i = 0; i < g->m; i += TW_CPU_GEMV_MAX_M)
        j->gemv((int)min_size(TW_CPU_GEMV_MAX_M, g->m - i), g->k, j->a + i * j->lda, j->lda, bp,
                g->c + i * g->ldc + col, g->ldc, (int)cols, g->bias ? g->bias + col : NULL);
    }
    if (j->gelu) /* the panel's columns of every row, still in cache */
      for (size_t i = 0; i < g->m; i++) j->gelu(g->c + i * g->ldc + col, cols, g->c + i * g->ldc + col, 0);
  }
  if (j->gemv_dp && j->dp_end) j->dp_end();
}

int tw_cpu_scratch_arows(tw_cpu_scratch *sc, size_t floats) {
  if (floats <= sc->arows_cap) return TW_OK;
  float *p = tw_malloc_aligned(floats * sizeof *p);
  if (!p) return TW_ENOMEM;
  tw_free(sc->arows);
  sc->arows = p;
  sc->arows_cap = floats;
  return TW_OK;
}

static int gemm_small_m(tw_device *dev, const tw_direct_gemm *g, const tw_cpu_weight *w, int mode,
                        int round_a, tw_cpu_scratch *sc, tw_threadpool *pool, tw_errbuf *err) {
  tw_cpu_impl *impl = dev->impl;
  gemv_job j = {.g = g, .w = w};
  if (g->epilogue == TW_EPILOGUE_GELU) j.gelu = tw_gelu_row_kernel();
  j.gemv = w->storage == TW_DTYPE_BF16 ? impl->ks.gemv_bf16 : impl->ks.gemv_f32;
  if (mode == TW_CPU_MODE_DP && impl->ks.gemv_dp && w->storage == TW_DTYPE_BF16 && w->pairs) {
    const size_t words = tw_cpu_gemv_dp_words(&impl->ks, g->k);
    const size_t rows = tw_cpu_gemv_dp_rows(&impl->ks, g->m);
    if (tw_cpu_scratch_arows(sc, rows * words))
      return tw_err(err, TW_ENOMEM, "cpu: cannot allocate %zu words for A", rows * words);
    tw_cpu_gemv_dp_a(&impl->ks, g->a, g->a_type, g->lda, g->m, g->k,
                     (uint32_t *)(void *)sc->arows);
    j.gemv_dp = impl->ks.gemv_dp;
    j.dp_end = impl->ks.dp_end;
    j.a_pairs = (const uint32_t *)(const void *)sc->arows;
    j.lda = words;
  } else if (g->a_type == TW_DTYPE_F32 && !round_a) {
    j.a = g->a;
    j.lda = g->lda;
  } else {
    size_t need = g->m * g->k;
    if (tw_cpu_scratch_arows(sc, need))
      return tw_err(err, TW_ENOMEM, "cpu: cannot allocate %zu floats for A", need);
    for (size_t i = 0; i < g->m; i++) {
      float *d = sc->arows + i * g->k;
      if (g->a_type == TW_DTYPE_BF16) {
        tw_bf16_to_fp32_n((const tw_bf16 *)g->a + i * g->lda, d, g->k);
      } else {
        const float *s = (const float *)g->a + i * g->lda;
        for (size_t p = 0; p < g->k; p++) d[p] = tw_round_bf16(s[p]);
      }
    }
    j.a = sc->arows;
    j.lda = g->k;
  }
  /* One more thread per 256 KiB of weight: the decoder's per-layer
   * matrices (0.5-2 MiB in base) stream faster on both threads; measured
   * with bench --decoder (B = 1 step 7-12% faster than with 2 MiB in
   * alternating runs); smaller products stay on the caller. */
  size_t bytes = w->n_panels * w->k_alloc * (size_t)w->nr * (w->storage == TW_DTYPE_BF16 ? 2 : 4);
  size_t parts = min_size((size_t)tw_threadpool_size(pool), w->n_panels);
  parts = min_size(parts, bytes / (256u << 10));
  j.parts = parts > 1 ? (int)parts : 1;
  tw_threadpool_run(pool, (size_t)j.parts, gemv_task, &j);
  return TW_OK;
}

/* The mode of one call (calib.h): F32 compute is A32; BF16 and DEFAULT
 * (bf16 inputs) take the calibrated mode of the shape class.  DP needs bf16
 * weights and a set with the dot-product kernel; otherwise it runs as A16
 * (the same inputs: A rounded to bf16). */
static int call_mode(const tw_cpu_impl *impl, const tw_direct_gemm *g, const tw_cpu_weight *w) {
  if (g->a_compute == TW_DTYPE_F32) return TW_CPU_MODE_A32;
  int mode = impl->choice.mode[tw_cpu_class_of(g->m)];
  if (mode == TW_CPU_MODE_DP && (w->storage != TW_DTYPE_BF16 || !impl->ks.ukr_dp))
    mode = TW_CPU_MODE_A16;
  return mode;
}

int tw_cpu_gemm_run(tw_device *dev, const tw_direct_gemm *g, const tw_cpu_weight *w,
                    tw_cpu_scratch *sc, tw_threadpool *pool, tw_errbuf *err) {
  tw_cpu_impl *impl = dev->impl;
  int mode = call_mode(impl, g, w);
  int round_a = mode != TW_CPU_MODE_A32 && g->a_type == TW_DTYPE_F32;
  if (g->cols_out) {
    int rc = tw_cpu_cols_check(g->cols_out, err);
    if (rc) return rc;
    if (g->cols_out->rows != g->m || g->cols_out->ld != g->ldc)
      return tw_err(err, TW_ESHAPE, "cpu: gemm: %zu rows (ldc %zu) for weights of %zu rows (ld "
                    "%zu)", g->m, g->ldc, g->cols_out->rows, g->cols_out->ld);
  }
  if (g->m <= TW_CPU_STREAM_MAX_M) {
    int rc = gemm_small_m(dev, g, w, mode, round_a, sc, pool, err);
    if (rc || !g->cols_out) return rc;
    /* a few rows: the weights from C after the product */
    tw_weight_cols_args cols = *g->cols_out;
    cols.data = g->c, cols.pool = pool, cols.err = err;
    return tw_cpu_weight_update_cols(dev, &cols);
  }
  gemm_job j = {.g = g, .w = w, .impl = impl, .sc = sc, .round_a = round_a};
  if (g->epilogue == TW_EPILOGUE_GELU) j.gelu = tw_gelu_row_kernel();
  int bf16 = w->storage == TW_DTYPE_BF16;
  j.ukr = bf16 ? impl->ks.ukr_bf16 : impl->ks.ukr_f32;
  if (mode == TW_CPU_MODE_DP) j.ukr_dp = impl->ks.ukr_dp;
  j.blk = impl->blk;
  j.mr = j.ukr_dp ? tw_cpu_dp_mr(&impl->ks) : (size_t)impl->ks.mr;
  /* MC whole panels of the kernel in use (the scratch holds either) */
  j.blk.mc = j.blk.mc < j.mr ? j.mr : j.blk.mc / j.mr * j.mr;
  int threads = tw_threadpool_size(pool);
  if (threads > sc->n_threads) threads = sc->n_threads;
  choose_chunks(&j, threads);
  atomic_init(&j.next, 0);
  size_t tasks = min_size((size_t)threads, j.m_chunks * j.n_chunks);
  tw_threadpool_run(pool, tasks, gemm_task, &j);
  return TW_OK;
}

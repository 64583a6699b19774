/* The cpu device's refill of many bf16 k-pair weights from column blocks
 * of one fp32 matrix (device.h, tw_weight_cols_args): the decoder's
 * per-window K_h^T and V_h of every head, from the layer's K | V product.
 * Refilling weight by weight reads each head's 64-float pieces of 1500
 * rows 4 KiB apart, sixteen times over the 6 MiB product, which came from
 * memory at ~9 GB/s (6 ms per base window on the AMX Xeon, as long as the
 * products).  Here each thread takes a range of rows and, per block of
 * rows, writes every weight's part of them with the writer the GEMM uses
 * on its finished blocks (tw_cpu_cols_block, below): the product is read
 * once, in order. */
#include "core/fp16.h"
#include "device/cpu/cpu.h"
#include "kernels/elementwise.h"

/* Rows per call of the block writer: 32 rows of a base K | V product
 * (128 KiB) are read once and written into every head while in L2. */
#define COLS_ROWS 32

typedef struct cols_job {
  const tw_weight_cols_args *a;
  size_t parts;
} cols_job;

/* This task's share of the rows, in blocks of COLS_ROWS (even starts, as
 * the block writer wants), all columns at once. */
static void cols_task(void *arg, size_t task, int thread) {
  (void)thread;
  const cols_job *j = arg;
  const tw_weight_cols_args *a = j->a;
  const size_t blocks = (a->rows + COLS_ROWS - 1) / COLS_ROWS;
  const size_t b0 = blocks * task / j->parts, b1 = blocks * (task + 1) / j->parts;
  for (size_t b = b0; b < b1; b++) {
    const size_t r0 = b * COLS_ROWS, rows = a->rows - r0 < COLS_ROWS ? a->rows - r0 : COLS_ROWS;
    tw_cpu_cols_block(a, a->data + r0 * a->ld, a->ld, r0, 0, (int)rows, (int)a->ld);
  }
}

int tw_cpu_cols_check(const tw_weight_cols_args *a, tw_errbuf *err) {
  if (!a || !a->handles || !a->col || !a->transposed)
    return tw_err(err, TW_EINVAL, "cpu: weight_update_cols: NULL argument");
  for (size_t i = 0; i < a->n; i++) {
    const tw_cpu_weight *w = a->handles[i];
    if (!w || w->storage != TW_DTYPE_BF16 || !w->pairs)
      return tw_err(err, TW_EUNSUPPORTED, "cpu: weight_update_cols: weight %zu is not bf16 "
                    "k-pairs", i);
    const int t = a->transposed[i];
    const size_t rows = t ? w->n : w->k, width = t ? w->k : w->n;
    if (rows != a->rows || t != w->transposed || a->col[i] + width > a->ld)
      return tw_err(err, TW_ESHAPE, "cpu: weight_update_cols: weight %zu is %zu x %zu%s, not "
                    "%zu source rows from column %zu of %zu", i, w->k, w->n,
                    w->transposed ? " (transposed)" : "", a->rows, a->col[i], a->ld);
  }
  return TW_OK;
}

int tw_cpu_weight_update_cols(tw_device *dev, const tw_weight_cols_args *a) {
  tw_errbuf *err = a && a->err ? a->err : &dev->err;
  if (a && !a->data) return tw_err(err, TW_EINVAL, "cpu: weight_update_cols: NULL data");
  int rc = tw_cpu_cols_check(a, err);
  if (rc) return rc;
  tw_threadpool *pool = a->pool ? a->pool : dev->pool;
  size_t blocks = (a->rows + COLS_ROWS - 1) / COLS_ROWS, parts = (size_t)tw_threadpool_size(pool);
  if (parts > blocks) parts = blocks;
  cols_job j = {.a = a, .parts = parts ? parts : 1};
  tw_threadpool_run(pool, j.parts, cols_task, &j);
  return TW_OK;
}

/* A finished block of the product, rows [row0, row0 + m) and columns
 * [col0, col0 + n) at c (row stride ldc), into every weight it feeds, as
 * the GEMM's last step on the block while it is in L1, so that no pass
 * over the product is needed.  Blocks start on even rows (MR and MC are
 * even), and only the product's last block can end on an odd row, whose
 * k-pair partner is then zero; column blocks start on a multiple of NR, so
 * a head's columns start on an even feature. */
void tw_cpu_cols_block(const tw_weight_cols_args *a, const float *c, size_t ldc, size_t row0,
                       size_t col0, int m, int n) {
  for (size_t i = 0; i < a->n; i++) {
    tw_cpu_weight *w = a->handles[i];
    const int t = a->transposed[i];
    const size_t width = t ? w->k : w->n, c0 = a->col[i];
    if (c0 >= col0 + (size_t)n || c0 + width <= col0) continue;
    const size_t f0 = c0 > col0 ? 0 : col0 - c0; /* the block's first column of the weight */
    const size_t f1 = c0 + width < col0 + (size_t)n ? width : col0 + (size_t)n - c0;
    const float *cs = c + (c0 + f0 - col0);
    const size_t nr = (size_t)w->nr, panel_words = w->k_alloc / 2 * nr;
    uint32_t *data = w->data;
    if (t && f0 % 2 == 0 && (f1 % 2 == 0 || f1 == width) && f1 == f0 + (f1 - f0) / 2 * 2) {
      /* K_h^T: row r is key row0 + r, its features f0..f1 the k-pairs
       * f0/2.. of that key's column; keys in one panel per call */
      for (size_t r = 0; r < (size_t)m;) {
        const size_t key = row0 + r, in_panel = nr - key % nr;
        const size_t rows = (size_t)m - r < in_panel ? (size_t)m - r : in_panel;
        tw_pair_cols(cs + r * ldc, ldc, rows, (f1 - f0) / 2,
                     data + key / nr * panel_words + f0 / 2 * nr + key % nr, nr);
        r += rows;
      }
      continue;
    }
    if (t) { /* a pair split by the block (odd head size): one half at a time */
      tw_bf16 *half = (tw_bf16 *)(void *)data;
      for (size_t r = 0; r < (size_t)m; r++) {
        const size_t key = row0 + r;
        for (size_t f = f0; f < f1; f++)
          half[key / nr * panel_words * 2 + tw_cpu_bf16_index(f, (int)(key % nr), (int)nr, 1)] =
              tw_fp32_to_bf16(cs[r * ldc + (f - f0)]);
      }
      continue;
    }
    /* V_h: rows (row0 + r, row0 + r + 1) are its k-pair row (row0 + r) / 2,
     * columns f0..f1 across its panels */
    for (size_t r = 0; r < (size_t)m; r += 2) {
      const size_t q = (row0 + r) / 2;
      const float *r0 = cs + r * ldc, *r1 = r + 1 < (size_t)m ? r0 + ldc : NULL;
      for (size_t f = f0; f < f1;) {
        const size_t cnt = f1 - f < nr - f % nr ? f1 - f : nr - f % nr;
        tw_pair_rows(r0 + (f - f0), r1 ? r1 + (f - f0) : NULL, cnt,
                     data + f / nr * panel_words + q * nr + f % nr);
        f += cnt;
      }
    }
  }
}

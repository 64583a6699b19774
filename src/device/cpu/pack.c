/* Packing for the cpu device: A per call into MR-tall panels (fp32, rounded
 * to bf16 when the call computes in bf16), B once at prepare time into
 * NR-wide panels stored as fp32 or bf16.  Layouts: docs/microkernel.md. */
#include <string.h>

#include "core/fp16.h"
#include "core/mem.h"
#include "device/cpu/cpu.h"

void tw_cpu_pack_a_panel(const void *a, int a_bf16, size_t lda, int round, size_t rows,
                         size_t kc, int mr, float *d) {
  const size_t umr = (size_t)mr;
  for (size_t ii = 0; ii < rows; ii++) {
    if (a_bf16) {
      const tw_bf16 *s = (const tw_bf16 *)a + ii * lda;
      for (size_t p = 0; p < kc; p++) d[p * umr + ii] = tw_bf16_to_fp32(s[p]);
    } else if (round) {
      const float *s = (const float *)a + ii * lda;
      for (size_t p = 0; p < kc; p++) d[p * umr + ii] = tw_round_bf16(s[p]);
    } else {
      const float *s = (const float *)a + ii * lda;
      for (size_t p = 0; p < kc; p++) d[p * umr + ii] = s[p];
    }
  }
  for (size_t ii = rows; ii < umr; ii++)
    for (size_t p = 0; p < kc; p++) d[p * umr + ii] = 0.0f;
}

void tw_cpu_pack_a(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                   int round_bf16, size_t i0, size_t mc, size_t p0, size_t kc, float *dst) {
  const size_t mr = (size_t)ks->mr, elem = a_type == TW_DTYPE_BF16 ? 2 : 4;
  const int a_bf16 = a_type == TW_DTYPE_BF16;
  for (size_t r = 0; r < mc; r += mr) {
    size_t rows = mc - r < mr ? mc - r : mr;
    const void *src = (const char *)a + ((i0 + r) * lda + p0) * elem;
    if (ks->pack_a)
      ks->pack_a(src, a_bf16, lda, round_bf16, rows, kc, dst + r * kc);
    else
      tw_cpu_pack_a_panel(src, a_bf16, lda, round_bf16, rows, kc, ks->mr, dst + r * kc);
  }
}

void tw_cpu_pack_a_pairs_panel(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                               int mr, uint32_t *dst) {
  const size_t umr = (size_t)mr, pairs = (kc + 1) / 2;
  for (size_t ii = 0; ii < umr; ii++)
    for (size_t q = 0; q < pairs; q++) {
      uint32_t w = 0;
      for (size_t h = 0; h < 2; h++) {
        size_t p = 2 * q + h;
        if (ii >= rows || p >= kc) continue;
        tw_bf16 v = a_bf16 ? ((const tw_bf16 *)a)[ii * lda + p]
                           : tw_fp32_to_bf16(((const float *)a)[ii * lda + p]);
        w |= (uint32_t)v << (16 * h);
      }
      dst[q * umr + ii] = w;
    }
}

void tw_cpu_pack_a_pairs(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                         size_t i0, size_t mc, size_t p0, size_t kc, uint32_t *dst) {
  const size_t mr = tw_cpu_dp_mr(ks), elem = a_type == TW_DTYPE_BF16 ? 2 : 4;
  const size_t panel = tw_cpu_dp_panel_words(ks, kc);
  const int a_bf16 = a_type == TW_DTYPE_BF16;
  for (size_t r = 0; r < mc; r += mr) {
    size_t rows = mc - r < mr ? mc - r : mr;
    const void *src = (const char *)a + ((i0 + r) * lda + p0) * elem;
    uint32_t *d = dst + r / mr * panel;
    if (ks->pack_a_pairs)
      ks->pack_a_pairs(src, a_bf16, lda, rows, kc, d);
    else
      tw_cpu_pack_a_pairs_panel(src, a_bf16, lda, rows, kc, (int)mr, d);
  }
}

/* Row `r` of the source (K x N: row p; transposed N x K: column j of W) as
 * `len` floats. */
static void source_row(const tw_weight_src *src, size_t r, size_t len, int use_f16c, float *out) {
  size_t off = r * src->ld;
  if (src->dtype == TW_DTYPE_F32) {
    memcpy(out, (const float *)src->data + off, len * sizeof *out);
  } else if (src->dtype == TW_DTYPE_BF16) {
    const tw_bf16 *s = (const tw_bf16 *)src->data + off;
    for (size_t i = 0; i < len; i++) out[i] = tw_bf16_to_fp32(s[i]);
  } else {
    const uint16_t *s = (const uint16_t *)src->data + off;
#if defined(__x86_64__) || defined(__i386__)
    if (use_f16c) {
      tw_f16_to_f32_n_avx2(s, out, len);
      return;
    }
#else
    (void)use_f16c;
#endif
    for (size_t i = 0; i < len; i++) out[i] = tw_fp16_to_fp32(s[i]);
  }
}

/* Stores row p of W (n values, j = 0..n-1), panel by panel. */
static void put_row(tw_cpu_weight *w, size_t p, const float *row) {
  const size_t nr = (size_t)w->nr, panel_elems = w->k_alloc * nr;
  for (size_t jp = 0; jp < w->n_panels; jp++) {
    size_t j0 = jp * nr, cols = w->n - j0 < nr ? w->n - j0 : nr;
    if (w->storage == TW_DTYPE_BF16) {
      tw_bf16 *d = (tw_bf16 *)w->data + jp * panel_elems;
      for (size_t jj = 0; jj < cols; jj++)
        d[tw_cpu_bf16_index(p, (int)jj, w->nr, w->pairs)] = tw_fp32_to_bf16(row[j0 + jj]);
    } else {
      memcpy((float *)w->data + jp * panel_elems + p * nr, row + j0, cols * sizeof(float));
    }
  }
}

/* Stores column j of W (k values, p = 0..k-1) into its panel. */
static void put_column(tw_cpu_weight *w, size_t j, const float *col) {
  const size_t nr = (size_t)w->nr, jj = j % nr;
  const size_t base = j / nr * w->k_alloc * nr;
  if (w->storage == TW_DTYPE_BF16) {
    tw_bf16 *d = (tw_bf16 *)w->data + base;
    for (size_t p = 0; p < w->k; p++)
      d[tw_cpu_bf16_index(p, (int)jj, w->nr, w->pairs)] = tw_fp32_to_bf16(col[p]);
  } else {
    float *d = (float *)w->data + base + jj;
    for (size_t p = 0; p < w->k; p++) d[p * nr] = col[p];
  }
}

void tw_cpu_bf16_pairs(const float *src, size_t k, uint32_t *dst) {
  tw_bf16 *row = (tw_bf16 *)(void *)dst; /* little-endian: word q = (2q low, 2q+1 high) */
  tw_fp32_to_bf16_n(src, row, k);
  if (k & 1) row[k] = 0;
}

void tw_cpu_gemv_dp_a(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                      size_t m, size_t k, uint32_t *dst) {
  const size_t words = tw_cpu_gemv_dp_words(ks, k), rows = tw_cpu_gemv_dp_rows(ks, m);
  for (size_t i = 0; i < rows; i++) {
    uint32_t *d = dst + i * words;
    size_t done = 0; /* words written from A */
    if (i < m && a_type != TW_DTYPE_BF16) {
      tw_cpu_bf16_pairs((const float *)a + i * lda, k, d);
      done = (k + 1) / 2;
    } else if (i < m) {
      tw_bf16 *row = (tw_bf16 *)(void *)d; /* bf16 already: the same words */
      memcpy(row, (const tw_bf16 *)a + i * lda, k * sizeof *row);
      if (k & 1) row[k] = 0;
      done = (k + 1) / 2;
    }
    memset(d + done, 0, (words - done) * sizeof *d);
  }
}

/* A source into bf16 k-pairs: word (q, j) of a panel is bf16 W[2q][j] low,
 * W[2q+1][j] high.  Transposed, source row j is column j of W, so its bf16
 * conversion is the column's words in order (one scatter per word);
 * otherwise two source rows make a panel row of words.  Rows are converted
 * a whole row at a time (F16C / vector code), several times faster than
 * the general path's per-element index: fp32 sources are the decoder's
 * per-window cross-attention refills, fp16 and bf16 ones a model's weights
 * at load (the f16 path was 44 % of loading base).  rowbuf: 2 max(k, n)
 * floats; a non-fp32 source row goes to its second half first. */
static void pack_pairs(const tw_weight_src *src, tw_cpu_weight *w, int use_f16c, float *rowbuf,
                       size_t lo, size_t hi) {
  const size_t nr = (size_t)w->nr, words = w->k_alloc / 2, panel_words = words * nr;
  const size_t rowlen = src->k > src->n ? src->k : src->n;
  float *conv = rowbuf + rowlen; /* a non-fp32 row as fp32 */
  uint32_t *data = w->data;
  if (src->transposed) { /* units: columns */
    uint32_t *cw = (uint32_t *)(void *)rowbuf; /* the k-pairs of one column */
    for (size_t j = lo; j < hi; j++) {
      const float *col = (const float *)src->data + j * src->ld;
      if (src->dtype != TW_DTYPE_F32) {
        source_row(src, j, src->k, use_f16c, conv);
        col = conv;
      }
      tw_cpu_bf16_pairs(col, src->k, cw);
      uint32_t *d = data + j / nr * panel_words + j % nr;
      for (size_t q = 0; q < words; q++) d[q * nr] = cw[q];
    }
    return;
  }
  tw_bf16 *r0 = (tw_bf16 *)(void *)rowbuf, *r1 = r0 + src->n;
  for (size_t q = lo; q < hi; q++) { /* units: k-pair rows */
    for (size_t h = 0; h < 2; h++) {
      tw_bf16 *r = h ? r1 : r0;
      const size_t p = 2 * q + h;
      if (p >= src->k) {
        memset(r, 0, src->n * sizeof *r);
        continue;
      }
      const float *row = (const float *)src->data + p * src->ld;
      if (src->dtype != TW_DTYPE_F32) {
        source_row(src, p, src->n, use_f16c, conv);
        row = conv;
      }
      tw_fp32_to_bf16_n(row, r, src->n);
    }
    for (size_t jp = 0; jp < w->n_panels; jp++) {
      const size_t j0 = jp * nr, cols = src->n - j0 < nr ? src->n - j0 : nr;
      uint32_t *d = data + jp * panel_words + q * nr;
      for (size_t jj = 0; jj < cols; jj++) d[jj] = (uint32_t)r0[j0 + jj] | (uint32_t)r1[j0 + jj] << 16;
    }
  }
}

/* Units of the source [lo, hi): columns of W when transposed, else rows
 * (k-pair rows in the pairs layout). */
static void pack_range(const tw_weight_src *src, tw_cpu_weight *w, int use_f16c, float *rowbuf,
                       size_t lo, size_t hi) {
  if (w->storage == TW_DTYPE_BF16 && w->pairs) {
    pack_pairs(src, w, use_f16c, rowbuf, lo, hi);
  } else if (src->transposed) {
    for (size_t j = lo; j < hi; j++) {
      source_row(src, j, src->k, use_f16c, rowbuf);
      put_column(w, j, rowbuf);
    }
  } else {
    for (size_t p = lo; p < hi; p++) {
      source_row(src, p, src->n, use_f16c, rowbuf);
      put_row(w, p, rowbuf);
    }
  }
}

/* How many units pack_range splits into, and how many make a share's step
 * (whole panels of columns, so that no two threads write one line). */
static size_t pack_units(const tw_weight_src *src, const tw_cpu_weight *w, size_t *step) {
  *step = src->transposed ? (size_t)w->nr : 1;
  if (src->transposed) return src->n;
  return w->storage == TW_DTYPE_BF16 && w->pairs ? w->k_alloc / 2 : src->k;
}

void tw_cpu_pack_b(const tw_weight_src *src, tw_cpu_weight *w, int use_f16c, float *rowbuf) {
  size_t step;
  pack_range(src, w, use_f16c, rowbuf, 0, pack_units(src, w, &step));
}

typedef struct pack_job {
  const tw_weight_src *src;
  tw_cpu_weight *w;
  int use_f16c;
  float *rowbufs; /* a thread's at task * stride */
  size_t stride, units, step, parts;
} pack_job;

static void pack_task(void *arg, size_t task, int thread) {
  (void)thread;
  const pack_job *j = arg;
  const size_t blocks = (j->units + j->step - 1) / j->step;
  const size_t lo = blocks * task / j->parts * j->step, hi = blocks * (task + 1) / j->parts * j->step;
  pack_range(j->src, j->w, j->use_f16c, j->rowbufs + task * j->stride, lo,
             hi < j->units ? hi : j->units);
}

void tw_cpu_pack_b_pool(tw_threadpool *pool, const tw_weight_src *src, tw_cpu_weight *w,
                        int use_f16c, float *rowbuf) {
  size_t step, units = pack_units(src, w, &step);
  size_t parts = pool ? (size_t)tw_threadpool_size(pool) : 1;
  const size_t blocks = (units + step - 1) / step;
  if (parts > blocks) parts = blocks;
  /* small weights (the decoder's per-window ones) are not worth a hand-off */
  if (parts < 2 || src->k * src->n < ((size_t)1 << 16)) {
    tw_cpu_pack_b(src, w, use_f16c, rowbuf);
    return;
  }
  const size_t rowlen = src->k > src->n ? src->k : src->n, stride = (2 * rowlen + 15) / 16 * 16;
  float *all = tw_malloc_aligned(parts * stride * sizeof *all); /* a row buffer per share */
  if (!all) { /* the same packing on one thread */
    tw_cpu_pack_b(src, w, use_f16c, rowbuf);
    return;
  }
  pack_job j = {.src = src, .w = w, .use_f16c = use_f16c, .rowbufs = all, .stride = stride,
                .units = units, .step = step, .parts = parts};
  tw_threadpool_run(pool, parts, pack_task, &j);
  tw_free(all);
}

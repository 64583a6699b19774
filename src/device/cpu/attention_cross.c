/* The cpu device's cross-attention over a window's prepared K^T and V
 * weights (device.h, tw_attention_cross_args): one task per head, each
 * streaming its K_h^T panels through the gemv kernel (scores of all m rows
 * at once), a softmax per row, then its V_h panels (outputs).  One engine
 * call per layer instead of 2 n_head products and n_head softmaxes, and the
 * heads spread over the pool's threads (each head's K/V, 192 KB in base,
 * is below the 256 KB a product needs to be split).  Every output is
 * computed by one task in a fixed order: thread count does not change it. */
#include <stdatomic.h>

#include "device/cpu/cpu.h"
#include "kernels/attention.h"

/* rows x keys of scores on a task's stack */
#define CROSS_MAX_T 2048
/* rows of A the dot-product kernels read (the AMX one reads a whole tile) */
#define PAIR_ROWS (TW_CPU_AMX_GEMV_ROWS > TW_CPU_STREAM_MAX_M ? TW_CPU_AMX_GEMV_ROWS : TW_CPU_STREAM_MAX_M)

/* a task's buffers, in its thread's work area: rows of q rounded, the
 * scores, and A as k-pairs (132 KiB; on the stack they asked every
 * calling thread for that much) */
typedef struct cross_work {
  float qh[TW_CPU_STREAM_MAX_M * TW_ATTN_MAX_D];
  float p[TW_CPU_STREAM_MAX_M * CROSS_MAX_T];
  uint32_t pairs[PAIR_ROWS * CROSS_MAX_T / 2]; /* CROSS_MAX_T: a multiple of every kpad_dp */
} cross_work;
_Static_assert(sizeof(cross_work) <= TW_CPU_TASK_WORK_BYTES, "cross attention's work area");

typedef struct cross_job {
  const tw_attention_cross_args *a;
  const tw_cpu_scratch *sc; /* per-thread work areas */
  const tw_cpu_impl *impl;
  tw_softmax_row_fn softmax;
  int dp; /* the gemv class runs VDPBF16PS: A as bf16 k-pairs */
  atomic_size_t next;
} cross_job;

/* C[m x w->n] = A[m x k] . w, panel by panel, rows in groups the kernel takes. */
static void stream_product(const tw_cpu_impl *impl, const tw_cpu_weight *w, size_t m,
                           const float *a, size_t lda, uint32_t *pairs, float *c, size_t ldc) {
  const size_t nr = (size_t)w->nr, elem = w->storage == TW_DTYPE_BF16 ? 2 : 4;
  tw_gemv_fn gemv = w->storage == TW_DTYPE_BF16 ? impl->ks.gemv_bf16 : impl->ks.gemv_f32;
  const size_t words = tw_cpu_gemv_dp_words(&impl->ks, w->k);
  if (pairs) /* rounds A to bf16 as it pairs */
    tw_cpu_gemv_dp_a(&impl->ks, a, TW_DTYPE_F32, lda, m, w->k, pairs);
  for (size_t jp = 0; jp < w->n_panels; jp++) {
    const char *bp = (const char *)w->data + jp * w->k_alloc * nr * elem;
    const size_t col = jp * nr, n = w->n - col < nr ? w->n - col : nr;
    if (pairs) {
      impl->ks.gemv_dp((int)m, w->k, pairs, words, bp, c + col, ldc, (int)n, NULL);
      continue;
    }
    for (size_t i = 0; i < m; i += TW_CPU_GEMV_MAX_M)
      gemv((int)(m - i < TW_CPU_GEMV_MAX_M ? m - i : TW_CPU_GEMV_MAX_M), w->k, a + i * lda, lda,
           bp, c + i * ldc + col, ldc, (int)n, NULL);
  }
}

static void cross_task(void *arg, size_t task, int thread) {
  (void)task;
  cross_job *j = arg;
  const tw_attention_cross_args *a = j->a;
  cross_work *wk = tw_cpu_task_work(j->sc, thread);
  float *qh = wk->qh, *p = wk->p;
  uint32_t *pp = j->dp ? wk->pairs : NULL;
  for (;;) {
    size_t h = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (h >= a->n_head) break;
    /* the FMA kernels take q rounded to bf16 here; the dot-product path
     * rounds as it pairs, and fp32 uses q as it is */
    const float *q = a->q + h * a->d;
    size_t ldq = a->ldq;
    if (a->round_bf16 && !j->dp) {
      for (size_t i = 0; i < a->m; i++)
        for (size_t c = 0; c < a->d; c++) qh[i * a->d + c] = tw_round_bf16(q[i * a->ldq + c]);
      q = qh, ldq = a->d;
    }
    stream_product(j->impl, a->kt[h], a->m, q, ldq, pp, p, a->T);
    for (size_t i = 0; i < a->m; i++) {
      float *row = p + i * a->T;
      j->softmax(a->T, a->scale, row);
      if (a->round_bf16 && !j->dp) /* the dot-product path rounds as it pairs */
        for (size_t t = 0; t < a->T; t++) row[t] = tw_round_bf16(row[t]);
    }
    stream_product(j->impl, a->v[h], a->m, p, a->T, pp, a->out + h * a->d, a->ldo);
  }
  if (j->dp && j->impl->ks.dp_end) j->impl->ks.dp_end();
}

int tw_cpu_attention_cross(tw_device *dev, const tw_attention_cross_args *a) {
  tw_cpu_impl *impl = dev->impl;
  tw_errbuf *err = a && a->err ? a->err : &dev->err;
  if (!a || !a->q || !a->kt || !a->v || !a->out)
    return tw_err(err, TW_EINVAL, "cpu: cross attention: NULL argument");
  if (!impl->fused_attention)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: fused attention is switched off");
  if (a->m == 0 || a->m > TW_CPU_STREAM_MAX_M || a->T == 0 || a->T > CROSS_MAX_T || a->d == 0 ||
      a->d > TW_ATTN_MAX_D || a->n_head == 0)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: cross attention of %zu rows over %zu keys, %zu "
                  "heads of %zu: not taken (rows 1..%d, keys 1..%d, d 1..%d)", a->m, a->T,
                  a->n_head, a->d, TW_CPU_STREAM_MAX_M, CROSS_MAX_T, TW_ATTN_MAX_D);
  for (size_t h = 0; h < a->n_head; h++) {
    const tw_cpu_weight *kt = a->kt[h], *v = a->v[h];
    if (kt->k != a->d || kt->n != a->T || v->k != a->T || v->n != a->d)
      return tw_err(err, TW_EINVAL, "cpu: cross attention: head %zu's K^T is %zux%zu and V "
                    "%zux%zu, not %zux%zu and %zux%zu", h, kt->k, kt->n, v->k, v->n, a->d,
                    a->T, a->T, a->d);
  }
  const tw_cpu_scratch *sc = a->stream ? a->stream : &impl->own;
  cross_job j = {.a = a, .impl = impl, .sc = sc, .softmax = tw_cpu_decode_attention_kernels(&impl->ks).softmax};
  /* the dot-product kernel where the gemv class chose it, for bf16 inputs
   * and bf16 pair-packed weights (the same products, summed in pairs) */
  j.dp = a->round_bf16 && impl->ks.gemv_dp && impl->choice.mode[TW_CPU_CLASS_GEMV] == TW_CPU_MODE_DP;
  for (size_t h = 0; h < a->n_head && j.dp; h++) {
    const tw_cpu_weight *kt = a->kt[h], *v = a->v[h];
    j.dp = kt->storage == TW_DTYPE_BF16 && kt->pairs && v->storage == TW_DTYPE_BF16 && v->pairs;
  }
  atomic_init(&j.next, 0);
  tw_threadpool *pool = a->pool ? a->pool : dev->pool;
  size_t threads = (size_t)tw_threadpool_size(pool);
  if (threads > (size_t)sc->n_threads) threads = (size_t)sc->n_threads; /* one area each */
  tw_threadpool_run(pool, a->n_head < threads ? a->n_head : threads, cross_task, &j);
  return TW_OK;
}

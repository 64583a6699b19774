/* The cpu device's fused attention: tasks of (head, block of 32 queries)
 * taken from a shared counter by the pool's threads, each running the
 * fastest block kernel the CPU and head size allow (kernels/attention.h).
 * Each output element is computed by one task alone, in a fixed order, so
 * the result does not depend on the thread count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "device/cpu/cpu.h"
#include "kernels/attention.h"

typedef struct attn_job {
  const tw_attention_args *a;
  tw_attn_block_fn block;
  size_t q_blocks;
  atomic_size_t next;
} attn_job;

static void attn_task(void *arg, size_t task, int thread) {
  (void)task, (void)thread;
  attn_job *j = arg;
  const tw_attention_args *a = j->a;
  const size_t total = a->n_head * j->q_blocks;
  for (;;) {
    size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (t >= total) break;
    size_t h = t / j->q_blocks, i0 = t % j->q_blocks * TW_ATTN_BQ, col = h * a->d;
    size_t nq = a->T - i0 < TW_ATTN_BQ ? a->T - i0 : TW_ATTN_BQ;
    j->block(nq, a->T, a->d, a->scale, a->q + i0 * a->ldq + col, a->ldq, a->k + col, a->ldk,
             a->v + col, a->ldv, a->out + i0 * a->ldo + col, a->ldo);
  }
}

tw_attn_block_fn tw_cpu_attention_kernel(const tw_cpu_kernels *ks, size_t d) {
#if defined(__x86_64__) || defined(__i386__)
  if (!strcmp(ks->family, "avx512") && d % 8 == 0) return tw_attn_block_avx512;
#else
  (void)ks;
#endif
  (void)d;
  return tw_attn_block_generic;
}

int tw_cpu_attention(tw_device *dev, const tw_attention_args *a) {
  tw_cpu_impl *impl = dev->impl;
  tw_errbuf *err = a && a->err ? a->err : &dev->err;
  if (!a || !a->q || !a->k || !a->v || !a->out)
    return tw_err(err, TW_EINVAL, "cpu: attention: NULL argument");
  if (!impl->fused_attention)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: fused attention is switched off");
  size_t width = a->n_head * a->d;
  if (a->T == 0 || a->n_head == 0 || a->d == 0 || a->d > TW_ATTN_MAX_D)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: attention T %zu, %zu heads of %zu: not "
                  "taken (d must be 1..%d)", a->T, a->n_head, a->d, TW_ATTN_MAX_D);
  if (a->ldq < width || a->ldk < width || a->ldv < width || a->ldo < width)
    return tw_err(err, TW_EINVAL, "cpu: attention: a row stride is below %zu", width);
  attn_job j = {.a = a, .block = tw_cpu_attention_kernel(&impl->ks, a->d)};
  j.q_blocks = (a->T + TW_ATTN_BQ - 1) / TW_ATTN_BQ;
  atomic_init(&j.next, 0);
  tw_threadpool *pool = a->pool ? a->pool : dev->pool;
  size_t tasks = a->n_head * j.q_blocks, threads = (size_t)tw_threadpool_size(pool);
  tw_threadpool_run(pool, tasks < threads ? tasks : threads, attn_task, &j);
  return TW_OK;
}

/* The cpu device's decoding-step self-attention (device.h,
 * tw_attention_step_args): one task per (sequence, head), each a single
 * query over that sequence's cache (kernels/attention.h).  Replaces, per
 * sequence and layer, two planned products, two weight refills, a
 * transpose and n_head softmaxes: about 90 us of a 5-beam step's ~140 us
 * per layer on the 2-core EPYC VM.  Each output is computed by one task
 * alone, so the result does not depend on the thread count. */
#include <stdatomic.h>

#include "device/cpu/cpu.h"
#include "kernels/attention.h"

typedef struct step_job {
  const tw_attention_step_args *a;
  tw_cpu_decode_kernels k;
  atomic_size_t next;
} step_job;

static void step_task(void *arg, size_t task, int thread) {
  (void)task, (void)thread;
  step_job *j = arg;
  const tw_attention_step_args *a = j->a;
  float scores[TW_ATTN_STEP_MAX_KEYS];
  for (;;) {
    size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (t >= a->n_seq * a->n_head) break;
    size_t s = t / a->n_head, h = t % a->n_head, col = h * a->d;
    const float *q = a->q + s * a->ldq + col;
    float *out = a->out + s * a->ldo + col;
    if (a->kv_type == TW_DTYPE_BF16)
      j->k.step_bf16(a->n_keys, a->d, a->scale, q, (const uint16_t *)a->k[s] + col, a->ldk,
                   (const uint16_t *)a->vt[s] + col * a->ldvt, a->ldvt, scores, out);
    else
      j->k.step(a->n_keys, a->d, a->scale, q, (const float *)a->k[s] + col, a->ldk,
              (const float *)a->vt[s] + col * a->ldvt, a->ldvt, scores, out);
  }
}

int tw_cpu_attention_step(tw_device *dev, const tw_attention_step_args *a) {
  tw_cpu_impl *impl = dev->impl;
  tw_errbuf *err = a && a->err ? a->err : &dev->err;
  if (!a || !a->q || !a->k || !a->vt || !a->out)
    return tw_err(err, TW_EINVAL, "cpu: attention step: NULL argument");
  if (!impl->fused_attention)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: fused attention is switched off");
  const size_t width = a->n_head * a->d;
  if (a->n_keys == 0 || a->n_keys > TW_ATTN_STEP_MAX_KEYS || a->n_head == 0 || a->d == 0)
    return tw_err(err, TW_EUNSUPPORTED, "cpu: attention step over %zu keys, %zu heads of %zu: "
                  "not taken (keys must be 1..%d)", a->n_keys, a->n_head, a->d,
                  TW_ATTN_STEP_MAX_KEYS);
  if (a->ldq < width || a->ldk < width || a->ldo < width || a->ldvt < a->n_keys)
    return tw_err(err, TW_EINVAL, "cpu: attention step: a row stride is too small");
  if (a->kv_type != TW_DTYPE_F32 && a->kv_type != TW_DTYPE_BF16)
    return tw_err(err, TW_EINVAL, "cpu: attention step: caches must be F32 or BF16");
  for (size_t s = 0; s < a->n_seq; s++)
    if (!a->k[s] || !a->vt[s])
      return tw_err(err, TW_EINVAL, "cpu: attention step: sequence %zu has no cache", s);
  step_job j = {.a = a, .k = tw_cpu_decode_attention_kernels(&impl->ks)};
  atomic_init(&j.next, 0);
  tw_threadpool *pool = a->pool ? a->pool : dev->pool;
  /* below ~64k multiply-adds a second thread costs more than it saves */
  size_t tasks = a->n_seq * a->n_head, threads = (size_t)tw_threadpool_size(pool);
  if (a->n_seq * a->n_keys * width < (64u << 10)) threads = 1;
  tw_threadpool_run(pool, tasks < threads ? tasks : threads, step_task, &j);
  return TW_OK;
}

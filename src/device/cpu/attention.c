/* The cpu device's fused attention: tasks of (head, block of queries) taken
 * from a shared counter by the pool's threads, each running the fastest
 * block kernel the CPU, head size and the caller's precision allow
 * (kernels/attention.h).  The bf16 kernels (VDPBF16PS, AMX) first have
 * every head's K and V packed once (tasks of one head each) into the
 * stream's scratch.  Each output element is computed by one task alone, in
 * a fixed order, so the result does not depend on the thread count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "device/cpu/cpu.h"
#include "kernels/attention.h"
#include "kernels/ukernel.h"

/* Which block kernel a call runs. */
typedef enum attn_path { PATH_FP32, PATH_BF16, PATH_AMX } attn_path;

_Static_assert(TW_ATTN_AMX_WORK_BYTES <= TW_CPU_TASK_WORK_BYTES, "the AMX block's work area");

typedef struct attn_job {
  const tw_attention_args *a;
  const tw_cpu_scratch *sc; /* per-thread work areas */
  attn_path path;
  tw_attn_block_fn block; /* PATH_FP32's kernel */
  /* the bf16 paths' packed K and V: head h's at h * head_words, its V part
   * v_off words in */
  uint32_t *packed;
  size_t head_words, v_off;
  size_t bq, q_blocks;
  atomic_size_t next;
} attn_job;

static void pack_task(void *arg, size_t task, int thread) {
  (void)task, (void)thread;
  attn_job *j = arg;
  const tw_attention_args *a = j->a;
  for (;;) {
    size_t h = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (h >= a->n_head) break;
#if defined(__x86_64__) || defined(__i386__)
    uint32_t *kb = j->packed + h * j->head_words;
    if (j->path == PATH_AMX)
      tw_attn_amx_pack(a->T, a->d, a->k + h * a->d, a->ldk, a->v + h * a->d, a->ldv, kb,
                       kb + j->v_off);
    else
      tw_attn_bf16_pack(a->T, a->d, a->k + h * a->d, a->ldk, a->v + h * a->d, a->ldv, kb,
                        kb + j->v_off);
#endif
  }
}

static void attn_task(void *arg, size_t task, int thread) {
  (void)task;
  attn_job *j = arg;
  const tw_attention_args *a = j->a;
  const size_t total = a->n_head * j->q_blocks;
  for (;;) {
    size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (t >= total) break;
    size_t h = t / j->q_blocks, i0 = t % j->q_blocks * j->bq, col = h * a->d;
    size_t nq = a->T - i0 < j->bq ? a->T - i0 : j->bq;
    if (j->path == PATH_FP32) {
      j->block(nq, a->T, a->d, a->scale, a->q + i0 * a->ldq + col, a->ldq, a->k + col, a->ldk,
               a->v + col, a->ldv, a->out + i0 * a->ldo + col, a->ldo);
    } else {
#if defined(__x86_64__) || defined(__i386__)
      const uint32_t *kb = j->packed + h * j->head_words;
      if (j->path == PATH_AMX)
        tw_attn_block_amx(nq, a->T, a->d, a->scale, a->q + i0 * a->ldq + col, a->ldq, kb,
                          kb + j->v_off, a->out + i0 * a->ldo + col, a->ldo,
                          tw_cpu_task_work(j->sc, thread));
      else
        tw_attn_block_avx512bf16(nq, a->T, a->d, a->scale, a->q + i0 * a->ldq + col, a->ldq, kb,
                                 kb + j->v_off, a->out + i0 * a->ldo + col, a->ldo);
#endif
    }
  }
#if defined(__x86_64__) || defined(__i386__)
  /* the tiles' 8 KiB of state would otherwise be saved at every context
   * switch of this pool thread until its next AMX call */
  if (j->path == PATH_AMX) tw_amx_release();
#endif
}

/* 1 where the set's family has the AVX-512 attention kernels. */
static int avx512_family(const tw_cpu_kernels *ks) {
#if defined(__x86_64__) || defined(__i386__)
  return !strcmp(ks->family, "avx512");
#else
  (void)ks;
  return 0;
#endif
}

tw_attn_block_fn tw_cpu_attention_kernel(const tw_cpu_kernels *ks, size_t d) {
#if defined(__x86_64__) || defined(__i386__)
  if (avx512_family(ks) && d % 8 == 0) return tw_attn_block_avx512;
#endif
  (void)ks, (void)d;
  return tw_attn_block_generic;
}

tw_cpu_decode_kernels tw_cpu_decode_attention_kernels(const tw_cpu_kernels *ks) {
#if defined(__x86_64__) || defined(__i386__)
  if (avx512_family(ks))
    return (tw_cpu_decode_kernels){tw_attn_step_avx512, tw_attn_step_bf16_avx512,
                                   tw_softmax_row_avx512};
#endif
  (void)ks;
  return (tw_cpu_decode_kernels){tw_attn_step_generic, tw_attn_step_bf16_generic,
                                 tw_softmax_row_generic};
}

/* The bf16 kernels run where the caller allows bf16 and the calibration
 * found the device's dot-product kernels the faster for large products
 * (so on the CPU the set was chosen for); the set says which. */
static int bf16_allowed(const tw_cpu_impl *impl, const tw_attention_args *a) {
  return a->allow_bf16 && impl->choice.mode[TW_CPU_CLASS_LARGE] == TW_CPU_MODE_DP;
}

int tw_cpu_attention_bf16(const tw_cpu_impl *impl, const tw_attention_args *a) {
#if defined(__x86_64__) || defined(__i386__)
  return bf16_allowed(impl, a) && a->d % 8 == 0 && !strcmp(impl->ks.isa, "avx512bf16");
#else
  (void)impl, (void)a;
  return 0;
#endif
}

int tw_cpu_attention_amx(const tw_cpu_impl *impl, const tw_attention_args *a) {
#if defined(__x86_64__) || defined(__i386__)
  return bf16_allowed(impl, a) && a->d % 16 == 0 && a->d <= TW_ATTN_MAX_D &&
         !strcmp(impl->ks.isa, "amx");
#else
  (void)impl, (void)a;
  return 0;
#endif
}

/* Grows the stream's packed K and V to `words`; kept for later calls. */
static int scratch_attn(tw_cpu_scratch *sc, size_t words) {
  if (words <= sc->attn_cap) return TW_OK;
  uint32_t *p = tw_malloc_aligned(words * sizeof *p);
  if (!p) return TW_ENOMEM;
  tw_free(sc->attn);
  sc->attn = p;
  sc->attn_cap = words;
  return TW_OK;
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
  tw_cpu_scratch *sc = a->stream ? a->stream : &impl->own;
  attn_job j = {.a = a, .sc = sc, .bq = TW_ATTN_BQ};
  atomic_init(&j.next, 0);
  tw_threadpool *pool = a->pool ? a->pool : dev->pool;
  size_t threads = (size_t)tw_threadpool_size(pool);
  /* no more threads than the scratch has work areas for */
  if (threads > (size_t)sc->n_threads) threads = (size_t)sc->n_threads;
#if defined(__x86_64__) || defined(__i386__)
  if (tw_cpu_attention_amx(impl, a)) {
    j.path = PATH_AMX;
    j.head_words = tw_attn_amx_pack_words(a->T, a->d);
    j.v_off = tw_attn_amx_k_words(a->T, a->d);
    j.bq = TW_ATTN_AMX_BQ;
  } else if (tw_cpu_attention_bf16(impl, a)) {
    j.path = PATH_BF16;
    j.head_words = tw_attn_bf16_pack_words(a->T, a->d);
    j.v_off = a->T * (a->d / 2);
    j.bq = TW_ATTN_BF16_BQ;
  }
#endif
  if (j.path != PATH_FP32) {
    if (scratch_attn(sc, a->n_head * j.head_words))
      return tw_err(err, TW_ENOMEM, "cpu: attention: cannot allocate %zu bytes for bf16 K and V",
                    a->n_head * j.head_words * sizeof(uint32_t));
    j.packed = sc->attn;
    tw_threadpool_run(pool, a->n_head < threads ? a->n_head : threads, pack_task, &j);
  } else {
    j.block = tw_cpu_attention_kernel(&impl->ks, a->d);
  }
  j.q_blocks = (a->T + j.bq - 1) / j.bq;
  atomic_store_explicit(&j.next, 0, memory_order_relaxed);
  size_t tasks = a->n_head * j.q_blocks;
  tw_threadpool_run(pool, tasks < threads ? tasks : threads, attn_task, &j);
  return TW_OK;
}

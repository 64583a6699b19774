/* The `cpu` device's private types: the packed weight, the device state and
 * the entry points of its packing and GEMM files. */
#ifndef TW_DEVICE_CPU_CPU_H
#define TW_DEVICE_CPU_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "device/cpu/calib.h"
#include "kernels/ukernel.h"
#include "device/device.h"
#include "kernels/attention.h"

/* A weight packed as ceil(n / nr) panels of k x nr (docs/microkernel.md). */
typedef struct tw_cpu_weight {
  size_t k, n, n_panels;
  size_t k_alloc;   /* rows per panel: k, or k rounded up to even (pairs) */
  int nr;
  int pairs;        /* bf16 in the k-pair layout (tw_cpu_bf16_index) */
  tw_dtype storage; /* F32 or BF16 */
  void *data;       /* n_panels * k_alloc * nr elements, 64-byte aligned */
  float *rowbuf;    /* 2 max(k, n) floats: packing scratch, kept for updates */
  int transposed;   /* layout of the source it was packed from */
} tw_cpu_weight;

/* Cache blocking (docs/microkernel.md). */
typedef struct tw_cpu_blocking {
  size_t mc, kc;
} tw_cpu_blocking;

/* Per-stream scratch: one packed-A buffer per thread of the stream's pool
 * and the small-M copy of A.  The device keeps one for callers that pass no
 * stream (its own tests); every tw_stream gets its own. */
typedef struct tw_cpu_scratch {
  int n_threads;
  size_t apack_elems;  /* floats per thread's packed-A buffer */
  float *apack;        /* n_threads * apack_elems, allocated at create */
  float *arows;        /* small-M copy of A (grows unless reserved, kept) */
  size_t arows_cap;    /* floats */
  uint32_t *attn;      /* bf16 attention's packed K and V of every head (grows, kept) */
  size_t attn_cap;     /* words */
  /* n_threads * TW_CPU_TASK_WORK_BYTES, allocated at create: a task's
   * buffers (attention blocks, cross-attention scores) on thread t at
   * work + t * TW_CPU_TASK_WORK_BYTES, not on the threads' stacks */
  unsigned char *work;
} tw_cpu_scratch;

/* Bytes of one thread's work area (64-byte aligned): the largest a task
 * kernel asks for (attention.c, attention_cross.c check theirs fit). */
#define TW_CPU_TASK_WORK_BYTES ((size_t)136 * 1024)

/* Thread t's work area of sc. */
static inline void *tw_cpu_task_work(const tw_cpu_scratch *sc, int t) {
  return sc->work + (size_t)t * TW_CPU_TASK_WORK_BYTES;
}

typedef struct tw_cpu_impl {
  tw_cpu_kernels ks;
  tw_cpu_choice choice; /* modes per shape class (calib.h); choice.ks == &ks */
  tw_cpu_blocking blk;
  int use_f16c;        /* convert F16 sources with F16C */
  tw_cpu_scratch own;  /* for calls without a stream */
  int fused_attention; /* attention() runs (else TW_EUNSUPPORTED: planned products) */
} tw_cpu_impl;

/* cpu_device.c: the kernel set ("generic", "avx2", ...) a cpu device runs. */
const char *tw_cpu_device_isa(const tw_device *dev);
/* The device's calibrated (or fixed) choice. */
const tw_cpu_choice *tw_cpu_device_choice(const tw_device *dev);
/* A cpu device running `choice` as given (no calibration); pool may be NULL
 * (one thread).  Used by tw_cpu_device_create and by the calibration. */
int tw_cpu_device_make(const tw_cpu_choice *choice, tw_threadpool *pool, const char *opts,
                       tw_device **out);

/* pack.c */
/* Packs A[i0 : i0+mc, p0 : p0+kc] into ceil(mc/MR) panels with the kernel
 * set's packer (or the portable one). */
void tw_cpu_pack_a(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                   int round_bf16, size_t i0, size_t mc, size_t p0, size_t kc, float *dst);
/* Same as bf16 k-pairs for the kernel set's ukr_dp (A always rounded). */
void tw_cpu_pack_a_pairs(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                         size_t i0, size_t mc, size_t p0, size_t kc, uint32_t *dst);
/* The portable k-pair packer of one panel (see tw_pack_a_pairs_fn). */
void tw_cpu_pack_a_pairs_panel(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                               int mr, uint32_t *dst);
/* The portable packer of one panel (see tw_pack_a_fn). */
void tw_cpu_pack_a_panel(const void *a, int a_bf16, size_t lda, int round, size_t rows,
                         size_t kc, int mr, float *dst);
/* Fills w->data (zeroed by the caller) from src; rowbuf holds 2 max(k, n) floats. */
void tw_cpu_pack_b(const tw_weight_src *src, tw_cpu_weight *w, int use_f16c, float *rowbuf);
/* The same, its columns (transposed; whole panels) or rows shared over
 * pool's threads when the weight is large enough (prepare; NULL pool or
 * no memory for the threads' row buffers: tw_cpu_pack_b). */
void tw_cpu_pack_b_pool(tw_threadpool *pool, const tw_weight_src *src, tw_cpu_weight *w,
                        int use_f16c, float *rowbuf);
/* k fp32 values as ceil(k/2) bf16 k-pairs (word q: value 2q low, 2q+1
 * high, 0 after an odd k), the A side of the dot-product kernels. */
void tw_cpu_bf16_pairs(const float *src, size_t k, uint32_t *dst);
/* A for the set's gemv_dp: tw_cpu_gemv_dp_rows rows of tw_cpu_gemv_dp_words
 * words, row i < m the bf16 k-pairs of A's row i (fp32 rounded, or bf16),
 * zero past k and in the rows past m. */
static inline size_t tw_cpu_gemv_dp_words(const tw_cpu_kernels *ks, size_t k) {
  const size_t kp = (size_t)(ks->kpad_dp ? ks->kpad_dp : 2);
  return (k + kp - 1) / kp * kp / 2;
}
static inline size_t tw_cpu_gemv_dp_rows(const tw_cpu_kernels *ks, size_t m) {
  return ks->gemv_dp_rows ? (size_t)ks->gemv_dp_rows : m;
}
void tw_cpu_gemv_dp_a(const tw_cpu_kernels *ks, const void *a, tw_dtype a_type, size_t lda,
                      size_t m, size_t k, uint32_t *dst);

/* refill.c: many k-pair weights from column blocks of one fp32 matrix
 * (device.h, tw_weight_cols_args). */
int tw_cpu_weight_update_cols(tw_device *dev, const tw_weight_cols_args *a);
/* The checks of the above (shapes, bf16 k-pairs), for a product that
 * writes the weights block by block (gemm.c). */
int tw_cpu_cols_check(const tw_weight_cols_args *a, tw_errbuf *err);
/* One finished block of C into the weights it feeds. */
void tw_cpu_cols_block(const tw_weight_cols_args *a, const float *c, size_t ldc, size_t row0,
                       size_t col0, int m, int n);
/* attention.c: fused attention (device.h, tw_attention_args) on the
 * caller's pool and stream scratch (the device's when it passes none);
 * TW_EUNSUPPORTED when switched off (option attention=planned or
 * TW_CPU_ATTENTION=planned) or d > TW_ATTN_MAX_D. */
int tw_cpu_attention(tw_device *dev, const tw_attention_args *a);
/* attention_step.c: a decoding step's self-attention (device.h,
 * tw_attention_step_args); switched off with the fused attention. */
int tw_cpu_attention_step(tw_device *dev, const tw_attention_step_args *a);
/* attention_cross.c: cross-attention over prepared K^T / V weights
 * (device.h, tw_attention_cross_args); switched off with the fused attention. */
int tw_cpu_attention_cross(tw_device *dev, const tw_attention_cross_args *a);
/* The decoder's attention kernels for kernel set ks (attention.c). */
typedef struct tw_cpu_decode_kernels {
  tw_attn_step_fn step;           /* fp32 caches */
  tw_attn_step_bf16_fn step_bf16; /* bf16 caches */
  tw_softmax_row_fn softmax;      /* cross-attention rows */
} tw_cpu_decode_kernels;
tw_cpu_decode_kernels tw_cpu_decode_attention_kernels(const tw_cpu_kernels *ks);
/* The fp32 block kernel for head size d on kernel set ks. */
tw_attn_block_fn tw_cpu_attention_kernel(const tw_cpu_kernels *ks, size_t d);
/* 1 when a call runs the bf16 kernel: the caller allows bf16, the set is
 * avx512bf16, d % 8 == 0, and the calibration chose the dot-product mode
 * for large products (where VDPBF16PS is slower than fp32 FMA it does not,
 * and the fp32 kernel runs). */
int tw_cpu_attention_bf16(const tw_cpu_impl *impl, const tw_attention_args *a);
/* 1 when the call takes the AMX kernel instead: allow_bf16, kernel set
 * amx, d % 16 == 0, and the same calibration choice. */
int tw_cpu_attention_amx(const tw_cpu_impl *impl, const tw_attention_args *a);

/* gemm.c: runs a validated call on the given scratch, pool and error
 * buffer. Returns TW_OK or TW_ENOMEM. */
int tw_cpu_gemm_run(tw_device *dev, const tw_direct_gemm *g, const tw_cpu_weight *w,
                    tw_cpu_scratch *sc, tw_threadpool *pool, tw_errbuf *err);
/* Grows sc->arows to hold `floats`; TW_ENOMEM on failure. */
int tw_cpu_scratch_arows(tw_cpu_scratch *sc, size_t floats);

#endif

/* AMX microkernel: bf16 A x bf16 B into fp32 C, 32 x 32 per call, on the
 * tile unit: C is four 16 x 16 fp32 tiles (registers 0-3), each step of 32
 * k multiplies two A tiles (16 rows x 32 bf16: registers 4, 5) by two B
 * tiles (16 k-pairs x 16 columns: registers 6, 7) with four TDPBF16PS,
 * which, like VDPBF16PS, adds the two exact products of a k-pair into the
 * fp32 accumulator.  A C tile is 16 x 16 x 32 multiply-adds per
 * instruction, against 16 x 2 per VDPBF16PS: the CPU's own fixed-shape
 * matrix kernel.
 *
 * B is the weights' k-pair layout unchanged (tw_cpu_bf16_index, NR 32): a
 * k-pair row of the panel is 128 bytes, columns 0-15 in its first half and
 * 16-31 in its second, so a B tile is 16 such rows at stride 128 and the
 * second starts 64 bytes in.  A is packed by tw_pack_a_amx_32 as one 2 KiB
 * block per 32 k (rows 0-15, then 16-31; 64 bytes a row), zero past kc and
 * past the panel's rows, so that each A tile is one contiguous load.  A
 * last step of fewer than 32 k reads its B rows from a zero-padded copy
 * (the panel holds only an even number of rows).
 *
 * C: accumulating into a full 32 x 32 block loads C into the tiles; a
 * first block with bias starts from the bias (a tile load of stride 0
 * repeats one row); a full block stores its tiles straight to C; any
 * other case goes through a 4 KiB buffer.  So a full block's sum is
 * bias + a.b (the contract's a.b + bias in another order: equal up to one
 * rounding).  Tiles stay configured after the call (amx.h); the caller
 * releases them with tw_amx_release at the end of its task. */
#include <immintrin.h>
#include <string.h>

#include "kernels/amx/amx.h"
#include "kernels/ukernel.h"

#define MR 32
#define NR 32
#define KT 32 /* k per tile step */

_Thread_local const tw_amx_cfg *tw_amx_current TW_AMX_TLS;

static const tw_amx_cfg cfg_32x32 = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

void tw_amx_release(void) {
  if (!tw_amx_current) return;
  _tile_release();
  tw_amx_current = NULL;
}

/* C[m x n] (+)= t (32 x 32, row stride NR), adding c unless it is already in
 * t, and the bias unless it is. */
static void store_buffer(const float *t, float *c, size_t ldc, int m, int n, int add_c,
                         const float *bias) {
  const __mmask16 k0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
  const __mmask16 k1 = (__mmask16)(n >= 32 ? 0xffff : n > 16 ? (1u << (n - 16)) - 1 : 0);
  __m512 b0 = _mm512_setzero_ps(), b1 = b0;
  if (bias) b0 = _mm512_maskz_loadu_ps(k0, bias), b1 = _mm512_maskz_loadu_ps(k1, bias + 16);
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    __m512 v0 = _mm512_loadu_ps(t + i * NR), v1 = _mm512_loadu_ps(t + i * NR + 16);
    if (add_c) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, ci), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, ci + 16), v1);
    }
    if (bias) v0 = _mm512_add_ps(v0, b0), v1 = _mm512_add_ps(v1, b1);
    _mm512_mask_storeu_ps(ci, k0, v0);
    _mm512_mask_storeu_ps(ci + 16, k1, v1);
  }
}

void tw_gemm_amx_bf16f32_32x32(size_t kc, const uint32_t *a, const void *bv, float *c, size_t ldc,
                               int m, int n, int accumulate, const float *bias) {
  tw_amx_configure(&cfg_32x32);
  const char *ap = (const char *)a, *b = (const char *)bv;
  const size_t full_steps = kc / KT, tail = kc % KT, ldcb = ldc * sizeof(float);
  const int full = m == MR && n == NR, two = m > 16; /* two: rows 16-31 exist */
  int c_in = 0, bias_in = 0;
  if (accumulate && full) {
    _tile_loadd(0, c, ldcb);
    _tile_loadd(1, c + 16, ldcb);
    _tile_loadd(2, c + 16 * ldc, ldcb);
    _tile_loadd(3, c + 16 * ldc + 16, ldcb);
    c_in = 1;
  } else if (!accumulate && bias && n == NR) {
    _tile_loadd(0, bias, 0);
    _tile_loadd(1, bias + 16, 0);
    _tile_loadd(2, bias, 0);
    _tile_loadd(3, bias + 16, 0);
    bias_in = 1;
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  const size_t steps = full_steps + (tail != 0);
  uint16_t btail[16 * NR * 2] __attribute__((aligned(64)));
  for (size_t s = 0; s < steps; s++) {
    const char *bs = b + s * 16 * NR * 2 * sizeof(uint16_t);
    if (s == full_steps) { /* tail: its (tail + 1) / 2 pair rows, zeros after */
      const size_t bytes = (tail + 1) / 2 * NR * 2 * sizeof(uint16_t);
      memcpy(btail, bs, bytes);
      memset((char *)btail + bytes, 0, sizeof btail - bytes);
      bs = (const char *)btail;
    }
    const char *as = ap + s * MR * KT * sizeof(uint16_t);
    _tile_loadd(4, as, 64);
    _tile_loadd(6, bs, 128);
    _tile_loadd(7, bs + 64, 128);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (two) {
      _tile_loadd(5, as + 16 * 64, 64);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  if (full && (!bias || bias_in)) {
    _tile_stored(0, c, ldcb);
    _tile_stored(1, c + 16, ldcb);
    _tile_stored(2, c + 16 * ldc, ldcb);
    _tile_stored(3, c + 16 * ldc + 16, ldcb);
    return;
  }
  float t[MR * NR] __attribute__((aligned(64)));
  _tile_stored(0, t, NR * sizeof(float));
  _tile_stored(1, t + 16, NR * sizeof(float));
  if (two) {
    _tile_stored(2, t + 16 * NR, NR * sizeof(float));
    _tile_stored(3, t + 16 * NR + 16, NR * sizeof(float));
  }
  store_buffer(t, c, ldc, m, n, accumulate && !c_in, bias_in ? NULL : bias);
}

/* One panel of A for the kernel above: rows x kc (rows <= 32) from fp32
 * (rounded to bf16, RNE) or bf16, as ceil(kc/32) blocks of 32 rows x 32
 * bf16, zero past kc and past `rows`. */
void tw_pack_a_amx_32(const void *a, int a_bf16, size_t lda, size_t rows, size_t kc,
                      uint32_t *dst) {
  const size_t steps = (kc + KT - 1) / KT;
  uint16_t *d = (uint16_t *)(void *)dst;
  for (size_t s = 0; s < steps; s++) {
    const size_t p0 = s * KT, cols = kc - p0 < KT ? kc - p0 : KT;
    const __mmask32 kk = (__mmask32)(cols == 32 ? 0xffffffffu : (1u << cols) - 1);
    const __mmask16 klo = (__mmask16)kk, khi = (__mmask16)(kk >> 16);
    uint16_t *blk = d + s * MR * KT;
    for (size_t i = 0; i < MR; i++) {
      __m512i v = _mm512_setzero_si512();
      if (i < rows) {
        if (a_bf16) {
          v = _mm512_maskz_loadu_epi16(kk, (const uint16_t *)a + i * lda + p0);
        } else {
          const float *r = (const float *)a + i * lda + p0;
          v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(khi, r + 16),
                                           _mm512_maskz_loadu_ps(klo, r));
        }
      }
      _mm512_storeu_si512((void *)(blk + i * KT), v);
    }
  }
}

/* Small-M kernel on the tile unit (tw_gemv_dp_fn with the AMX set's A
 * layout): A is TW_CPU_AMX_GEMV_ROWS rows of bf16 at `lda` words, zero in
 * the rows past m and past k up to a multiple of 32 (gemm.c pads it), so
 * one A tile per 32 k; the panel's two B tiles per 32 k as in the GEMM
 * kernel.  Five beams then cost about what one does: the tile multiplies 16
 * rows at once, and the panel is streamed once. */
void tw_gemv_amx_bf16bf16_16x32(int m, size_t k, const uint32_t *a, size_t lda, const void *bv,
                                float *c, size_t ldc, int n, const float *bias) {
  tw_amx_configure(&cfg_32x32);
  const char *b = (const char *)bv;
  const size_t full_steps = k / KT, tail = k % KT, steps = full_steps + (tail != 0);
  uint16_t btail[16 * NR * 2] __attribute__((aligned(64)));
  _tile_zero(0);
  _tile_zero(1);
  for (size_t s = 0; s < steps; s++) {
    const char *bs = b + s * 16 * NR * 2 * sizeof(uint16_t);
    if (s == full_steps) {
      const size_t bytes = (tail + 1) / 2 * NR * 2 * sizeof(uint16_t);
      memcpy(btail, bs, bytes);
      memset((char *)btail + bytes, 0, sizeof btail - bytes);
      bs = (const char *)btail;
    }
    _tile_loadd(4, a + s * (KT / 2), lda * sizeof(uint32_t));
    _tile_loadd(6, bs, 128);
    _tile_loadd(7, bs + 64, 128);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
  }
  float t[16 * NR] __attribute__((aligned(64)));
  _tile_stored(0, t, NR * sizeof(float));
  _tile_stored(1, t + 16, NR * sizeof(float));
  store_buffer(t, c, ldc, m, n, 0, bias);
}

/* AVX-512 decoding-step attention (kernels/attention.h), any d, over fp32
 * or bf16 caches (one body per element type, bf16 widened by a shift):
 * the scores are dot products along d (one horizontal sum per key), the
 * exps 16 keys at a time, and each output feature a dot product of the
 * probabilities with one row of the transposed values, so neither pass
 * gathers.  With <= 448 keys a sequence's layer stays in L2. */
#include <immintrin.h>
#include <math.h>

#include "kernels/attention.h"
#include "kernels/avx512/exp512.h"

static inline __mmask16 tail_mask(size_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* 16 elements (masked) of an fp32 or a bf16 array as fp32 lanes. */
static inline __m512 load_f32(__mmask16 m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }

static inline __m512 load_bf16(__mmask16 m, const uint16_t *p) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

/* sum_j x[j] y[j] for j < n (x fp32, y of the loader's type), 16 at a
 * time, two accumulators, the tail masked. */
#define DOT(NAME, T, LOAD)                                                          \
  static inline float NAME(size_t n, const float *x, const T *y) {                 \
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;                                       \
    size_t j = 0;                                                                   \
    for (; j + 32 <= n; j += 32) {                                                  \
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + j), LOAD(0xFFFF, y + j), a0);        \
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + j + 16), LOAD(0xFFFF, y + j + 16), a1); \
    }                                                                               \
    for (; j < n; j += 16) {                                                        \
      __mmask16 m = tail_mask(n - j);                                               \
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + j), LOAD(m, y + j), a0);   \
    }                                                                               \
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));                             \
  }
DOT(dot_f32, float, load_f32)
DOT(dot_bf16, uint16_t, load_bf16)

/* The step over caches of type T. */
#define STEP(NAME, T, DOTFN)                                                          \
  void NAME(size_t n_keys, size_t d, float scale, const float *q, const T *k, size_t ldk, \
            const T *vt, size_t ldvt, float *scores, float *out) {                     \
    float m = -INFINITY;                                                               \
    for (size_t j = 0; j < n_keys; j++) {                                              \
      scores[j] = DOTFN(d, q, k + j * ldk) * scale;                                    \
      m = scores[j] > m ? scores[j] : m;                                               \
    }                                                                                  \
    __m512 vm = _mm512_set1_ps(m), sum = _mm512_setzero_ps();                          \
    for (size_t j = 0; j < n_keys; j += 16) {                                          \
      __mmask16 mk = tail_mask(n_keys - j);                                            \
      __m512 e = tw_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, scores + j), vm));  \
      e = _mm512_maskz_mov_ps(mk, e);                                                  \
      _mm512_mask_storeu_ps(scores + j, mk, e);                                        \
      sum = _mm512_add_ps(sum, e);                                                     \
    }                                                                                  \
    const float inv = 1.0f / _mm512_reduce_add_ps(sum);                                \
    for (size_t c = 0; c < d; c++) out[c] = DOTFN(n_keys, scores, vt + c * ldvt) * inv; \
  }
STEP(tw_attn_step_avx512, float, dot_f32)
STEP(tw_attn_step_bf16_avx512, uint16_t, dot_bf16)

void tw_softmax_row_avx512(size_t n, float scale, float *x) {
  const __m512 vs = _mm512_set1_ps(scale);
  __m512 vm = _mm512_set1_ps(-INFINITY);
  for (size_t j = 0; j < n; j += 16)
    vm = _mm512_mask_max_ps(vm, tail_mask(n - j), vm,
                            _mm512_mul_ps(_mm512_maskz_loadu_ps(tail_mask(n - j), x + j), vs));
  vm = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
  __m512 sum = _mm512_setzero_ps();
  for (size_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail_mask(n - j);
    __m512 e = tw_exp512(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(mk, x + j), vs, vm));
    e = _mm512_maskz_mov_ps(mk, e);
    _mm512_mask_storeu_ps(x + j, mk, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (size_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail_mask(n - j);
    _mm512_mask_storeu_ps(x + j, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + j), inv));
  }
}

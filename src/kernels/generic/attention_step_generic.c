/* Portable decoding-step attention (kernels/attention.h): one query, the
 * scores over every cached key, their softmax, then one dot product per
 * value row; over fp32 or bf16 caches (one body, the element loader as a
 * parameter).  The fallback where AVX-512 is missing. */
#include <math.h>
#include <string.h>

#include "kernels/attention.h"

static inline float load_f32(const float *p, size_t i) { return p[i]; }

static inline float load_bf16(const uint16_t *p, size_t i) {
  uint32_t u = (uint32_t)p[i] << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

#define STEP_BODY(LOAD)                                                   \
  float m = -INFINITY, l = 0.0f;                                          \
  for (size_t j = 0; j < n_keys; j++) {                                   \
    float dot = 0.0f;                                                     \
    for (size_t c = 0; c < d; c++) dot += q[c] * LOAD(k, j * ldk + c);    \
    scores[j] = dot * scale;                                              \
    m = scores[j] > m ? scores[j] : m;                                    \
  }                                                                       \
  for (size_t j = 0; j < n_keys; j++) {                                   \
    scores[j] = expf(scores[j] - m);                                      \
    l += scores[j];                                                       \
  }                                                                       \
  for (size_t c = 0; c < d; c++) {                                        \
    float acc = 0.0f;                                                     \
    for (size_t j = 0; j < n_keys; j++) acc += scores[j] * LOAD(vt, c * ldvt + j); \
    out[c] = acc / l;                                                     \
  }

void tw_attn_step_generic(size_t n_keys, size_t d, float scale, const float *q, const float *k,
                          size_t ldk, const float *vt, size_t ldvt, float *scores, float *out) {
  STEP_BODY(load_f32)
}

void tw_attn_step_bf16_generic(size_t n_keys, size_t d, float scale, const float *q,
                               const uint16_t *k, size_t ldk, const uint16_t *vt, size_t ldvt,
                               float *scores, float *out) {
  STEP_BODY(load_bf16)
}

void tw_softmax_row_generic(size_t n, float scale, float *x) {
  float m = -INFINITY, l = 0.0f;
  for (size_t j = 0; j < n; j++) m = x[j] * scale > m ? x[j] * scale : m;
  for (size_t j = 0; j < n; j++) {
    x[j] = expf(x[j] * scale - m);
    l += x[j];
  }
  for (size_t j = 0; j < n; j++) x[j] /= l;
}

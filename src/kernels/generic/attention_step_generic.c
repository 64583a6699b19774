/* Portable decoding-step attention (kernels/attention.h): one query, the
 * scores over every cached key, their softmax, then one dot product per
 * value row.  The fallback where AVX-512 is missing or d % 16 != 0. */
#include <math.h>

#include "kernels/attention.h"

void tw_attn_step_generic(size_t n_keys, size_t d, float scale, const float *q, const float *k,
                          size_t ldk, const float *vt, size_t ldvt, float *scores, float *out) {
  float m = -INFINITY, l = 0.0f;
  for (size_t j = 0; j < n_keys; j++) {
    float dot = 0.0f;
    for (size_t c = 0; c < d; c++) dot += q[c] * k[j * ldk + c];
    scores[j] = dot * scale;
    m = scores[j] > m ? scores[j] : m;
  }
  for (size_t j = 0; j < n_keys; j++) {
    scores[j] = expf(scores[j] - m);
    l += scores[j];
  }
  for (size_t c = 0; c < d; c++) {
    float acc = 0.0f;
    for (size_t j = 0; j < n_keys; j++) acc += scores[j] * vt[c * ldvt + j];
    out[c] = acc / l;
  }
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

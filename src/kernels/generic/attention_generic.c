/* Portable fused attention for one block of queries (kernels/attention.h):
 * per query, keys in tiles, running max and sum, the output rescaled when
 * the max grows.  The fallback where AVX-512 is missing or d is odd. */
#include <math.h>

#include "kernels/attention.h"

/* One query row: o[c] = sum_j softmax_j(scale q . k_j) v_j[c]. */
static void attn_row(size_t T, size_t d, float scale, const float *q, const float *k, size_t ldk,
                     const float *v, size_t ldv, float *o) {
  float s[TW_ATTN_BK];
  float m = -INFINITY, l = 0.0f;
  for (size_t c = 0; c < d; c++) o[c] = 0.0f;
  for (size_t j0 = 0; j0 < T; j0 += TW_ATTN_BK) {
    size_t nk = T - j0 < TW_ATTN_BK ? T - j0 : TW_ATTN_BK;
    float mt = -INFINITY;
    for (size_t j = 0; j < nk; j++) {
      const float *kj = k + (j0 + j) * ldk;
      float dot = 0.0f;
      for (size_t c = 0; c < d; c++) dot += q[c] * kj[c];
      s[j] = dot * scale;
      mt = s[j] > mt ? s[j] : mt;
    }
    float m_new = mt > m ? mt : m;
    float alpha = expf(m - m_new); /* 0 on the first tile (m = -inf) */
    l *= alpha;
    for (size_t c = 0; c < d; c++) o[c] *= alpha;
    for (size_t j = 0; j < nk; j++) {
      float p = expf(s[j] - m_new);
      const float *vj = v + (j0 + j) * ldv;
      l += p;
      for (size_t c = 0; c < d; c++) o[c] += p * vj[c];
    }
    m = m_new;
  }
  for (size_t c = 0; c < d; c++) o[c] /= l;
}

void tw_attn_block_generic(size_t nq, size_t T, size_t d, float scale, const float *q, size_t ldq,
                           const float *k, size_t ldk, const float *v, size_t ldv, float *out,
                           size_t ldo) {
  for (size_t i = 0; i < nq; i++) attn_row(T, d, scale, q + i * ldq, k, ldk, v, ldv, out + i * ldo);
}

#include "tw_test_decref.h"

#include <math.h>
#include <stdlib.h>

#include "tw_test_memmodel.h"

/* y[o] = b[o] + sum_i W[o][i] x[i] for a PyTorch Linear W [out][in]. */
static void affine(const tw_tensor *w, const tw_tensor *b, const double *x, int in, int out,
                   double *y) {
  for (int o = 0; o < out; o++) {
    double s = b ? tw_test_tensor_at(b, (size_t)o) : 0.0;
    for (int i = 0; i < in; i++) s += tw_test_tensor_at(w, (size_t)o * in + i) * x[i];
    y[o] = s;
  }
}

static void layer_norm(const tw_tensor *w, const tw_tensor *b, const double *x, int n,
                       double *y) {
  double mean = 0.0, var = 0.0;
  for (int i = 0; i < n; i++) mean += x[i] / n;
  for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean) / n;
  for (int i = 0; i < n; i++)
    y[i] = (x[i] - mean) / sqrt(var + 1e-5) * tw_test_tensor_at(w, (size_t)i) +
           tw_test_tensor_at(b, (size_t)i);
}

/* out = sum_j softmax_j(q . k_j) v_j per head over keys j < n_keys, with q
 * and the keys already scaled by head_dim^-1/4; rows of k and v are n wide. */
static void attend(const double *q, const double *k, const double *v, int n_keys, int n,
                   int n_head, double *p, double *out) {
  const int d = n / n_head;
  for (int h = 0; h < n_head; h++) {
    double mx = -INFINITY, sum = 0.0;
    for (int j = 0; j < n_keys; j++) {
      double dot = 0.0;
      for (int c = 0; c < d; c++) dot += q[h * d + c] * k[(size_t)j * n + h * d + c];
      p[j] = dot;
      mx = dot > mx ? dot : mx;
    }
    for (int j = 0; j < n_keys; j++) sum += (p[j] = exp(p[j] - mx));
    for (int c = 0; c < d; c++) {
      double acc = 0.0;
      for (int j = 0; j < n_keys; j++) acc += p[j] / sum * v[(size_t)j * n + h * d + c];
      out[h * d + c] = acc;
    }
  }
}

typedef struct work {
  int n, n_head, n_tok, n_audio;
  double scale; /* head_dim^-1/4 */
  double *x, *h, *q, *k, *v, *ck, *cv, *a, *o, *m, *p;
} work;

/* x[t] += out(attn(attn_ln(x)))[t] for all t, keys j <= t. */
static void self_attention(work *w, const tw_decoder_layer *L) {
  const int n = w->n;
  for (int t = 0; t < w->n_tok; t++) {
    double *xt = w->x + (size_t)t * n, *kt = w->k + (size_t)t * n, *vt = w->v + (size_t)t * n;
    layer_norm(L->attn_ln_w, L->attn_ln_b, xt, n, w->h);
    affine(L->attn_q_w, L->attn_q_b, w->h, n, n, w->q + (size_t)t * n);
    affine(L->attn_k_w, NULL, w->h, n, n, kt);
    affine(L->attn_v_w, L->attn_v_b, w->h, n, n, vt);
    for (int i = 0; i < n; i++) w->q[(size_t)t * n + i] *= w->scale, kt[i] *= w->scale;
  }
  for (int t = 0; t < w->n_tok; t++) {
    attend(w->q + (size_t)t * n, w->k, w->v, t + 1, n, w->n_head, w->p, w->a);
    affine(L->attn_out_w, L->attn_out_b, w->a, n, n, w->o);
    for (int i = 0; i < n; i++) w->x[(size_t)t * n + i] += w->o[i];
  }
}

/* x[t] += out(cross_attn(cross_attn_ln(x), enc_out))[t]. */
static void cross_attention(work *w, const tw_decoder_layer *L, const float *enc_out) {
  const int n = w->n;
  for (int j = 0; j < w->n_audio; j++) {
    for (int i = 0; i < n; i++) w->h[i] = enc_out[(size_t)j * n + i];
    affine(L->cross_k_w, NULL, w->h, n, n, w->ck + (size_t)j * n);
    affine(L->cross_v_w, L->cross_v_b, w->h, n, n, w->cv + (size_t)j * n);
    for (int i = 0; i < n; i++) w->ck[(size_t)j * n + i] *= w->scale;
  }
  for (int t = 0; t < w->n_tok; t++) {
    double *xt = w->x + (size_t)t * n;
    layer_norm(L->cross_ln_w, L->cross_ln_b, xt, n, w->h);
    affine(L->cross_q_w, L->cross_q_b, w->h, n, n, w->q);
    for (int i = 0; i < n; i++) w->q[i] *= w->scale;
    attend(w->q, w->ck, w->cv, w->n_audio, n, w->n_head, w->p, w->a);
    affine(L->cross_out_w, L->cross_out_b, w->a, n, n, w->o);
    for (int i = 0; i < n; i++) xt[i] += w->o[i];
  }
}

static void mlp(work *w, const tw_decoder_layer *L) {
  const int n = w->n;
  for (int t = 0; t < w->n_tok; t++) {
    double *xt = w->x + (size_t)t * n;
    layer_norm(L->mlp_ln_w, L->mlp_ln_b, xt, n, w->h);
    affine(L->mlp_0_w, L->mlp_0_b, w->h, n, 4 * n, w->m);
    for (int i = 0; i < 4 * n; i++) w->m[i] = 0.5 * w->m[i] * (1.0 + erf(w->m[i] / sqrt(2.0)));
    affine(L->mlp_2_w, L->mlp_2_b, w->m, 4 * n, n, w->o);
    for (int i = 0; i < n; i++) xt[i] += w->o[i];
  }
}

int tw_test_decoder_ref(const tw_whisper_model *m, const float *enc_out, int n_audio,
                        const int32_t *tokens, int n_tok, double *logits) {
  const int n = m->hp.n_text_state, V = m->hp.n_vocab;
  const size_t rows = (size_t)n_tok * n, ka = (size_t)(n_audio > n_tok ? n_audio : n_tok);
  work w = {.n = n, .n_head = m->hp.n_text_head, .n_tok = n_tok, .n_audio = n_audio,
            .scale = pow((double)n / m->hp.n_text_head, -0.25)};
  w.x = malloc(rows * sizeof *w.x), w.q = malloc(rows * sizeof *w.q);
  w.k = malloc(rows * sizeof *w.k), w.v = malloc(rows * sizeof *w.v);
  w.ck = malloc((size_t)n_audio * n * sizeof *w.ck);
  w.cv = malloc((size_t)n_audio * n * sizeof *w.cv);
  w.h = malloc((size_t)n * sizeof *w.h), w.a = malloc((size_t)n * sizeof *w.a);
  w.o = malloc((size_t)n * sizeof *w.o), w.m = malloc((size_t)4 * n * sizeof *w.m);
  w.p = malloc(ka * sizeof *w.p);
  int rc = -1;
  if (!w.x || !w.q || !w.k || !w.v || !w.ck || !w.cv || !w.h || !w.a || !w.o || !w.m || !w.p)
    goto done;
  /* x = token_embedding[tokens] + positional_embedding[: n_tok] */
  for (int t = 0; t < n_tok; t++)
    for (int i = 0; i < n; i++)
      w.x[(size_t)t * n + i] = tw_test_tensor_at(m->dec_tok_emb, (size_t)tokens[t] * n + i) +
                               tw_test_tensor_at(m->dec_pos_emb, (size_t)t * n + i);
  for (int l = 0; l < m->hp.n_text_layer; l++) {
    self_attention(&w, &m->dec_layers[l]);
    cross_attention(&w, &m->dec_layers[l], enc_out);
    mlp(&w, &m->dec_layers[l]);
  }
  /* logits = ln(x) @ token_embedding.T */
  for (int t = 0; t < n_tok; t++) {
    layer_norm(m->dec_ln_w, m->dec_ln_b, w.x + (size_t)t * n, n, w.h);
    affine(m->dec_tok_emb, NULL, w.h, n, V, logits + (size_t)t * V);
  }
  rc = 0;
done:
  free(w.x), free(w.q), free(w.k), free(w.v), free(w.ck), free(w.cv);
  free(w.h), free(w.a), free(w.o), free(w.m), free(w.p);
  return rc;
}

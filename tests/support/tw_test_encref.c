#include "tw_test_encref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_test_memmodel.h"

static double *vals(const tw_tensor *t) {
  double *v = malloc(t->n_elements * sizeof *v);
  if (v)
    for (size_t i = 0; i < t->n_elements; i++) v[i] = tw_test_tensor_at(t, i);
  return v;
}

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

/* y[t][o] = b[o] + sum_i x[t][i] W[o][i]  (W: [out][in], PyTorch Linear). */
static int linear(const double *x, int rows, int in, const tw_tensor *w, const tw_tensor *b,
                  int out, double *y) {
  double *wt = malloc((size_t)in * out * sizeof *wt); /* W^T, so the inner loop runs over o */
  if (!wt) return -1;
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) wt[(size_t)i * out + o] = tw_test_tensor_at(w, (size_t)o * in + i);
  for (int t = 0; t < rows; t++) {
    double *yt = y + (size_t)t * out;
    for (int o = 0; o < out; o++) yt[o] = b ? tw_test_tensor_at(b, (size_t)o) : 0.0;
    for (int i = 0; i < in; i++) {
      const double xi = x[(size_t)t * in + i], *wi = wt + (size_t)i * out;
      for (int o = 0; o < out; o++) yt[o] += xi * wi[o];
    }
  }
  free(wt);
  return 0;
}

static void layernorm(const double *x, int rows, int n, const tw_tensor *w, const tw_tensor *b,
                      double *y) {
  for (int t = 0; t < rows; t++) {
    const double *xt = x + (size_t)t * n;
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += xt[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (xt[i] - mean) * (xt[i] - mean);
    var /= n;
    for (int i = 0; i < n; i++)
      y[(size_t)t * n + i] = (xt[i] - mean) / sqrt(var + 1e-5) * tw_test_tensor_at(w, (size_t)i) +
                             tw_test_tensor_at(b, (size_t)i);
  }
}

/* out[t][o] = b[o] + sum_c sum_k w[o][c][k] in[c][t*stride + k - 1] (zero padded),
 * where in[c][s] = x[c * cs + s * ss]. */
static int conv3(const double *x, int ch, int t_in, size_t cs, size_t ss, int stride,
                  const tw_tensor *w, const tw_tensor *b, int n_out, int t_out, double *out) {
  double *wv = vals(w);
  if (!wv) return -1;
  for (int t = 0; t < t_out; t++)
    for (int o = 0; o < n_out; o++) {
      double s = tw_test_tensor_at(b, (size_t)o);
      for (int c = 0; c < ch; c++)
        for (int k = 0; k < 3; k++) {
          int src = t * stride + k - 1;
          if (src >= 0 && src < t_in)
            s += wv[((size_t)o * ch + c) * 3 + k] * x[(size_t)c * cs + (size_t)src * ss];
        }
      out[(size_t)t * n_out + o] = s;
    }
  free(wv);
  return 0;
}

/* Multi-head self-attention of xn [T][n] (without the out projection). */
static int attention(const tw_encoder_layer *L, const double *xn, int T, int n, int n_head,
                     double *o) {
  const int d = n / n_head;
  const double s = pow((double)d, -0.25);
  double *q = malloc((size_t)T * n * sizeof *q), *k = malloc((size_t)T * n * sizeof *k);
  double *v = malloc((size_t)T * n * sizeof *v), *p = malloc((size_t)T * sizeof *p);
  int rc = -1;
  if (!q || !k || !v || !p || linear(xn, T, n, L->attn_q_w, L->attn_q_b, n, q) ||
      linear(xn, T, n, L->attn_k_w, NULL, n, k) || linear(xn, T, n, L->attn_v_w, L->attn_v_b, n, v))
    goto done;
  for (size_t i = 0; i < (size_t)T * n; i++) q[i] *= s, k[i] *= s;
  for (int h = 0; h < n_head; h++)
    for (int i = 0; i < T; i++) {
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < T; j++) {
        double dot = 0;
        for (int c = 0; c < d; c++) dot += q[(size_t)i * n + h * d + c] * k[(size_t)j * n + h * d + c];
        p[j] = dot;
        if (dot > mx) mx = dot;
      }
      for (int j = 0; j < T; j++) sum += p[j] = exp(p[j] - mx);
      for (int j = 0; j < T; j++) p[j] /= sum;
      double *oi = o + (size_t)i * n + h * d;
      for (int c = 0; c < d; c++) oi[c] = 0;
      for (int j = 0; j < T; j++)
        for (int c = 0; c < d; c++) oi[c] += p[j] * v[(size_t)j * n + h * d + c];
    }
  rc = 0;
done:
  free(q), free(k), free(v), free(p);
  return rc;
}

static int block(const tw_encoder_layer *L, double *x, int T, int n, int n_head, double *xn,
                 double *a, double *h) {
  const size_t tn = (size_t)T * n;
  layernorm(x, T, n, L->attn_ln_w, L->attn_ln_b, xn);
  if (attention(L, xn, T, n, n_head, a) || linear(a, T, n, L->attn_out_w, L->attn_out_b, n, xn))
    return -1;
  for (size_t i = 0; i < tn; i++) x[i] += xn[i];
  layernorm(x, T, n, L->mlp_ln_w, L->mlp_ln_b, xn);
  if (linear(xn, T, n, L->mlp_0_w, L->mlp_0_b, 4 * n, h)) return -1;
  for (size_t i = 0; i < tn * 4; i++) h[i] = gelu(h[i]);
  if (linear(h, T, 4 * n, L->mlp_2_w, L->mlp_2_b, n, xn)) return -1;
  for (size_t i = 0; i < tn; i++) x[i] += xn[i];
  return 0;
}

int tw_test_encoder_ref(const tw_whisper_model *m, int T, const float *mel, double *out) {
  const int n = m->hp.n_audio_state, F = 2 * T, mels = m->hp.n_mels;
  const size_t tn = (size_t)T * n;
  double *in = malloc((size_t)mels * F * sizeof *in), *h1 = malloc((size_t)F * n * sizeof *h1);
  double *x = malloc(tn * sizeof *x), *xn = malloc(tn * sizeof *xn), *a = malloc(tn * sizeof *a);
  double *h = malloc(tn * 4 * sizeof *h);
  int rc = -1;
  if (!in || !h1 || !x || !xn || !a || !h) goto done;
  for (size_t i = 0; i < (size_t)mels * F; i++) in[i] = mel[i];
  /* x = gelu(conv1(mel)); x = gelu(conv2(x)); x += positional_embedding */
  if (conv3(in, mels, F, (size_t)F, 1, 1, m->conv1_w, m->conv1_b, n, F, h1)) goto done;
  for (size_t i = 0; i < (size_t)F * n; i++) h1[i] = gelu(h1[i]);
  if (conv3(h1, n, F, 1, (size_t)n, 2, m->conv2_w, m->conv2_b, n, T, x)) goto done;
  for (size_t i = 0; i < tn; i++) x[i] = gelu(x[i]) + tw_test_tensor_at(m->enc_pos_emb, i);
  for (int l = 0; l < m->hp.n_audio_layer; l++)
    if (block(&m->enc_layers[l], x, T, n, m->hp.n_audio_head, xn, a, h)) goto done;
  layernorm(x, T, n, m->enc_ln_post_w, m->enc_ln_post_b, out);
  rc = 0;
done:
  free(in), free(h1), free(x), free(xn), free(a), free(h);
  return rc;
}

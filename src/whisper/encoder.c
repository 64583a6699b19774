/* The encoder's forward pass (Radford et al. 2022, Whisper's AudioEncoder).
 * Every matrix product is one tw_gemm call; everything else is in ops.c.
 * Nothing here allocates. */
#include <math.h>
#include <string.h>

#include "core/timing.h"
#include "gemm/attention.h"
#include "whisper/encoder_impl.h"
#include "whisper/ops.h"

/* C = epilogue(A . W (+ bias)) on the engine; A is m x k of type at. */
static int gemm_epi(tw_encoder *e, size_t m, size_t k, const void *a, tw_dtype at, size_t lda,
                    const tw_weight *w, float *c, size_t ldc, int epilogue, const char *what) {
  tw_gemm_options o = e->gemm_opts;
  o.epilogue = epilogue;
  int rc = tw_gemm_ex(e->stream, m, k, a, at, lda, w, c, ldc, &o, NULL);
  if (rc)
    return tw_err(&e->err, rc, "encoder: %s (M %zu, K %zu, N %zu): %s", what, m, k,
                  tw_weight_n(w), tw_stream_last_error(e->stream));
  return TW_OK;
}

static int gemm(tw_encoder *e, size_t m, size_t k, const void *a, tw_dtype at, size_t lda,
                const tw_weight *w, float *c, size_t ldc, const char *what) {
  return gemm_epi(e, m, k, a, at, lda, w, c, ldc, TW_EPILOGUE_NONE, what);
}

static int update(tw_encoder *e, tw_weight *w, const void *data, size_t ld, const char *what) {
  int rc = tw_weight_update(e->stream, w, data, ld);
  if (rc)
    return tw_err(&e->err, rc, "encoder: refilling %s: %s", what, tw_stream_last_error(e->stream));
  return TW_OK;
}

/* conv1 (k 3, pad 1) + GELU, conv2 (k 3, stride 2, pad 1) + GELU, + positions. */
static int conv_stem(tw_encoder *e, const float *mel) {
  const size_t F = (size_t)e->n_frames, T = (size_t)e->n_ctx, n = (size_t)e->n_state;
  const size_t mels = (size_t)e->n_mels;
  int rc;
  /* conv1: im2col of the mel [n_mels][F] -> [F][3 n_mels], times W1 -> h1 [F][n] */
  tw_op_im2col_k3(e->pool, mel, mels, F, F, 1, 1, F, e->col, e->act);
  /* the GELUs as the products' epilogues (fused on the cpu device) */
  if ((rc = gemm_epi(e, F, 3 * mels, e->col, e->act, 3 * mels, e->w->conv1, e->h1, n,
                     TW_EPILOGUE_GELU, "conv1")))
    return rc;
  /* conv2, stride 2: im2col of h1 [F][n] -> [T][3 n], times W2 -> x [T][n] */
  tw_op_im2col_k3(e->pool, e->h1, n, F, 1, n, 2, T, e->col, e->act);
  if ((rc = gemm_epi(e, T, 3 * n, e->col, e->act, 3 * n, e->w->conv2, e->x, n, TW_EPILOGUE_GELU,
                     "conv2")))
    return rc;
  /* x += sinusoidal positional embedding */
  tw_op_add(e->pool, T, n, e->x, n, e->w->pos, n);
  return TW_OK;
}

/* Head h's output P V_h into its columns of attn (M = n_ctx, N = head_dim). */
static int head_output(tw_encoder *e, size_t h) {
  const size_t T = (size_t)e->n_ctx, n = (size_t)e->n_state, d = (size_t)e->head_dim;
  int rc;
  if ((rc = update(e, e->v_h, e->v + h * d, n, "V_h")) ||
      (rc = gemm(e, T, T, e->probs, e->act, T, e->v_h, e->attn + h * d, n, "P V")))
    return rc;
  return TW_OK;
}

/* The same as (V_h^T P^T)^T: M = head_dim, K = N = n_ctx, for devices whose
 * fixed kernels are wide in N (N = head_dim would waste most of each tile). */
static int head_output_transposed(tw_encoder *e, size_t h) {
  const size_t T = (size_t)e->n_ctx, n = (size_t)e->n_state, d = (size_t)e->head_dim;
  int rc;
  tw_op_transpose(e->pool, T, d, e->v + h * d, n, e->v_t, e->act, T);
  if ((rc = update(e, e->p_t, e->probs, T, "P^T")) ||
      (rc = gemm(e, d, T, e->v_t, e->act, T, e->p_t, e->o_t, T, "V^T P^T")))
    return rc;
  tw_op_transpose(e->pool, d, T, e->o_t, T, e->attn + h * d, TW_DTYPE_F32, n);
  return TW_OK;
}

/* attn = concat_h softmax(Q_h K_h^T / sqrt(head_dim)) V_h, from e->q, k, v.
 * (Whisper scales q and k by head_dim^-1/4 each; the product is the same.) */
static int attention_heads(tw_encoder *e) {
  const size_t T = (size_t)e->n_ctx, n = (size_t)e->n_state, d = (size_t)e->head_dim;
  const float scale = 1.0f / sqrtf((float)d);
  /* ---- fused attention hook (issue 13): one call for every head where the
   * device has fused attention (cpu); TW_EUNSUPPORTED: the planned per-head
   * products below (fixed-shape devices, whose invocations are studied);
   * bf16 activations allow bf16 products: the planned path below rounds Q,
   * K, P and V to bf16 before its products as well. */
  int rc = tw_attention(e->stream, T, (size_t)e->n_head, d, scale, e->q, e->k, e->v, n, e->attn, n,
                        e->act == TW_DTYPE_BF16);
  if (rc != TW_EUNSUPPORTED)
    return rc ? tw_err(&e->err, rc, "encoder: attention: %s", tw_stream_last_error(e->stream)) : 0;
  /* ---- end of the hook */
  for (size_t h = 0; h < (size_t)e->n_head; h++) {
    /* scores = Q_h K_h^T */
    if ((rc = update(e, e->k_t, e->k + h * d, n, "K_h^T")) ||
        (rc = gemm(e, T, d, e->q + h * d, TW_DTYPE_F32, n, e->k_t, e->scores, T, "Q K^T")))
      return rc;
    /* P = softmax(scores * scale) over keys */
    tw_op_softmax(e->pool, T, T, e->scores, T, scale, e->probs, e->act, T, e->rows);
    /* head output = P V_h, into the head's columns of attn */
    rc = e->pv_transposed ? head_output_transposed(e, h) : head_output(e, h);
    if (rc) return rc;
  }
  return TW_OK;
}

/* One pre-LN residual block. */
static int block_forward(tw_encoder *e, const tw_enc_block *B) {
  const size_t T = (size_t)e->n_ctx, n = (size_t)e->n_state;
  int rc;
  /* x += out(attention(attn_ln(x))) */
  tw_op_layernorm(e->pool, T, n, e->x, n, B->attn_ln_w, B->attn_ln_b, 1e-5f, e->xn, e->act, n);
  if ((rc = gemm(e, T, n, e->xn, e->act, n, B->q, e->q, n, "query")) ||
      (rc = gemm(e, T, n, e->xn, e->act, n, B->k, e->k, n, "key")) ||
      (rc = gemm(e, T, n, e->xn, e->act, n, B->v, e->v, n, "value")) ||
      (rc = attention_heads(e)) ||
      (rc = gemm(e, T, n, e->attn, TW_DTYPE_F32, n, B->o, e->proj, n, "attn.out")))
    return rc;
  tw_op_add(e->pool, T, n, e->x, n, e->proj, n);
  /* x += mlp.2(GELU(mlp.0(mlp_ln(x)))) */
  tw_op_layernorm(e->pool, T, n, e->x, n, B->mlp_ln_w, B->mlp_ln_b, 1e-5f, e->xn, e->act, n);
  /* GELU as mlp.0's epilogue, in fp32 in place: mlp.2 rounds its A to bf16
   * with bf16 activations, the value a separate GELU would have stored */
  if ((rc = gemm_epi(e, T, n, e->xn, e->act, n, B->fc1, e->mlp_h, 4 * n, TW_EPILOGUE_GELU,
                     "mlp.0")))
    return rc;
  if ((rc = gemm(e, T, 4 * n, e->mlp_h, TW_DTYPE_F32, 4 * n, B->fc2, e->proj, n, "mlp.2")))
    return rc;
  tw_op_add(e->pool, T, n, e->x, n, e->proj, n);
  return TW_OK;
}

static int encoder_forward(tw_encoder *e, const float *mel, tw_encoder_timings *t) {
  const size_t T = (size_t)e->n_ctx, n = (size_t)e->n_state;
  double t0 = tw_now();
  int rc;
  /* convolutional stem + positional embedding */
  if ((rc = conv_stem(e, mel))) return rc;
  double t1 = tw_now();
  t->conv_s = t1 - t0;
  /* the residual blocks */
  for (int i = 0; i < e->n_layer; i++) {
    if ((rc = block_forward(e, &e->w->blocks[i]))) return rc;
    double t2 = tw_now();
    t->layer_s[i] = t2 - t1;
    t1 = t2;
  }
  /* final LayerNorm */
  tw_op_layernorm(e->pool, T, n, e->x, n, e->w->ln_post_w, e->w->ln_post_b, 1e-5f, e->out,
                  TW_DTYPE_F32, n);
  t->ln_post_s = tw_now() - t1;
  return TW_OK;
}

int tw_encoder_run(tw_encoder *e, const float *mel, float **out, tw_encoder_timings *t) {
  if (!e) return tw_err(NULL, TW_EINVAL, "encoder: NULL encoder");
  if (!mel || !out) return tw_err(&e->err, TW_EINVAL, "encoder: %s is NULL", mel ? "out" : "mel");
  *out = NULL;
  tw_encoder_timings local;
  if (!t) t = &local;
  memset(t, 0, sizeof *t);
  t->n_layers = e->n_layer;
  tw_gemm_stats s0, s1;
  tw_stream_stats(e->stream, &s0);
  double start = tw_now();
  int rc = encoder_forward(e, mel, t);
  t->total_s = tw_now() - start;
  tw_stream_stats(e->stream, &s1);
  t->gemm_calls = s1.calls - s0.calls;
  t->invocations = s1.invocations - s0.invocations;
  t->gemm_s = s1.total_s - s0.total_s;
  t->flops = s1.useful_flops - s0.useful_flops;
  t->modeled_device_s = s1.modeled_device_s - s0.modeled_device_s;
  if (rc) return rc;
  *out = e->out;
  return TW_OK;
}

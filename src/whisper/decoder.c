/* The decoder's forward pass (Radford et al. 2022, Whisper's TextDecoder)
 * over n_seq sequences of n_tok new tokens at once: every projection has
 * M = n_seq n_tok rows, so B beams read the weights about once.  Every
 * matrix product is one tw_gemm call; everything else is in ops.c.
 * Nothing here allocates. */
#include <math.h>
#include <string.h>

#include "tilewhisper/bf16.h"
#include "whisper/decoder_impl.h"
#include "whisper/ops.h"
#include "gemm/attention.h"

/* C = A . W (+ bias) on the run context; A is m x k of type at. */
static int gemm(tw_decoder_state *st, size_t m, size_t k, const void *a, tw_dtype at, size_t lda,
                const tw_weight *w, float *c, size_t ldc, const char *what) {
  int rc = tw_gemm_ex(st->ctx, m, k, a, at, lda, w, c, ldc, &st->gemm_opts, NULL);
  if (rc)
    return tw_err(&st->err, rc, "decoder: %s (M %zu, K %zu, N %zu): %s", what, m, k,
                  tw_weight_n(w), tw_stream_last_error(st->ctx));
  return TW_OK;
}

static int update(tw_decoder_state *st, tw_weight *w, const void *data, size_t ld,
                  const char *what) {
  int rc = tw_weight_update(st->ctx, w, data, ld);
  if (rc)
    return tw_err(&st->err, rc, "decoder: refilling %s: %s", what, tw_stream_last_error(st->ctx));
  return TW_OK;
}

/* x[s n_tok + t] = token_embedding[tokens[s][t]] + positional_embedding[n_past + t]. */
static void embed(tw_decoder_state *st, int n_seq, int n_tok, const int32_t *tokens, int n_past) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state;
  for (int s = 0; s < n_seq; s++)
    for (int t = 0; t < n_tok; t++) {
      const size_t r = (size_t)s * n_tok + t;
      float *x = st->x + r * n;
      const float *pos = d->pos + (size_t)(n_past + t) * n;
      /* in range: tokens were checked against n_vocab, the tensor's rows */
      tw_tensor_read_f32(d->model->dec_tok_emb, (size_t)tokens[r] * n, n, x);
      for (size_t j = 0; j < n; j++) x[j] += pos[j];
    }
}

/* The smallest bucket holding n_keys keys (the last holds n_text_ctx). */
static const tw_dec_bucket *bucket_for(const tw_decoder_state *st, int n_keys) {
  int i = 0;
  while (st->buckets[i].n_keys < n_keys) i++;
  return &st->buckets[i];
}

/* The new tokens' keys (rows) and values (columns of V^T), from the k and
 * v columns of st->qkv, into every sequence's cache slot. */
static void store_kv(tw_decoder_state *st, int l, int n_seq, int n_tok, int n_past) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, ctx = (size_t)d->n_text_ctx;
  const int bf16 = tw_dec_kv_type(st) == TW_DTYPE_BF16;
  for (int s = 0; s < n_seq; s++) {
    void *k = tw_dec_at(st, tw_dec_cache(st, st->slot[s], l, 0), (size_t)n_past * n);
    void *vt = tw_dec_at(st, tw_dec_cache(st, st->slot[s], l, 1), (size_t)n_past);
    for (size_t t = 0; t < (size_t)n_tok; t++) {
      const float *row = st->qkv + ((size_t)s * n_tok + t) * 3 * n;
      if (bf16) {
        tw_fp32_to_bf16_n(row + n, (tw_bf16 *)k + t * n, n);
        for (size_t i = 0; i < n; i++)
          ((tw_bf16 *)vt)[i * ctx + t] = tw_fp32_to_bf16(row[2 * n + i]);
      } else {
        memcpy((float *)k + t * n, row + n, n * sizeof(float));
        for (size_t i = 0; i < n; i++) ((float *)vt)[i * ctx + t] = row[2 * n + i];
      }
    }
  }
}

/* Several new tokens of sequence s (rows r0..): the cache is the weight,
 * packed once per head for all of them; a masked softmax gives the keys
 * past each row's own position probability 0. */
static int attend_prefill(tw_decoder_state *st, int l, int s, int n_tok, int n_past) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, hd = (size_t)d->head_dim, ctx = (size_t)d->n_text_ctx;
  const tw_dec_bucket *b = bucket_for(st, n_past + n_tok);
  const size_t keys = (size_t)b->n_keys, r = (size_t)s * n_tok * 3 * n;
  void *K = tw_dec_cache(st, st->slot[s], l, 0), *Vt = tw_dec_cache(st, st->slot[s], l, 1);
  const float scale = 1.0f / sqrtf((float)hd);
  for (size_t h = 0; h < (size_t)d->n_head; h++) {
    int rc;
    if ((rc = update(st, b->k_t, tw_dec_at(st, K, h * hd), n, "self-attention K_h^T")) ||
        (rc = gemm(st, (size_t)n_tok, hd, st->qkv + r + h * hd, TW_DTYPE_F32, 3 * n, b->k_t,
                   st->scores, keys, "self-attention Q K^T")))
      return rc;
    tw_op_softmax_causal(st->pool, (size_t)n_tok, keys, (size_t)n_past + 1, st->scores, keys,
                         scale, st->probs, d->act, keys, st->rows);
    if ((rc = update(st, b->v, tw_dec_at(st, Vt, h * hd * ctx), ctx, "self-attention V_h")) ||
        (rc = gemm(st, (size_t)n_tok, keys, st->probs, d->act, keys, b->v,
                   st->attn + (size_t)s * n_tok * n + h * hd, n, "self-attention P V")))
      return rc;
  }
  return TW_OK;
}

/* One new token of sequence s (row s), all heads at once, the cache as the
 * A operand: scores [keys][head] = K q_blk over exactly the keys in use,
 * softmax per head into P [head][bucket] (0 past the keys), outputs
 * [n_state][head] = V^T P^T over the bucket, of which row i keeps its own
 * head's column.  Two products per sequence and layer whatever the heads. */
static int attend_step(tw_decoder_state *st, int l, int s, int n_past) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, hd = (size_t)d->head_dim, ctx = (size_t)d->n_text_ctx;
  const size_t H = (size_t)d->n_head, keys = (size_t)n_past + 1;
  const tw_dec_bucket *b = bucket_for(st, n_past + 1);
  const size_t bk = (size_t)b->n_keys, ps = d->act == TW_DTYPE_BF16 ? 2 : 4;
  const float *q = st->qkv + (size_t)s * 3 * n;
  for (size_t i = 0; i < n; i++) st->q_blk_data[i * H + i / hd] = q[i];
  int rc;
  if ((rc = update(st, st->q_blk, st->q_blk_data, H, "self-attention block-diagonal q")) ||
      (rc = gemm(st, keys, n, tw_dec_cache(st, st->slot[s], l, 0), tw_dec_kv_type(st), n, st->q_blk,
                 st->heads, H, "self-attention K q")))
    return rc;
  tw_op_transpose(st->pool, keys, H, st->heads, H, st->scores, TW_DTYPE_F32, bk);
  const float scale = 1.0f / sqrtf((float)hd);
  for (size_t h = 0; h < H; h++) /* one row each: every head sees the same keys */
    tw_op_softmax_causal(NULL, 1, bk, keys, st->scores + h * bk, bk, scale,
                         (char *)st->probs + h * bk * ps, d->act, bk, st->rows);
  if ((rc = update(st, b->p, st->probs, bk, "self-attention P^T")) ||
      (rc = gemm(st, n, bk, tw_dec_cache(st, st->slot[s], l, 1), tw_dec_kv_type(st), ctx, b->p,
                 st->heads, H, "self-attention V^T P^T")))
    return rc;
  float *out = st->attn + (size_t)s * n;
  for (size_t i = 0; i < n; i++) out[i] = st->heads[i * H + i / hd];
  return TW_OK;
}

/* A step of every sequence at once through the device's fused step
 * attention; TW_EUNSUPPORTED when it has none (run the products). */
static int attend_fused(tw_decoder_state *st, int l, int n_seq, int n_past) {
  enum { CHUNK = 64 }; /* sequences per call: the pointer arrays stay small */
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state;
  const void *k[CHUNK], *vt[CHUNK];
  for (int s0 = 0; s0 < n_seq; s0 += CHUNK) {
    const int cnt = n_seq - s0 < CHUNK ? n_seq - s0 : CHUNK;
    for (int i = 0; i < cnt; i++) {
      k[i] = tw_dec_cache(st, st->slot[s0 + i], l, 0);
      vt[i] = tw_dec_cache(st, st->slot[s0 + i], l, 1);
    }
    int rc = tw_attention_step(st->ctx, (size_t)cnt, (size_t)d->n_head, (size_t)d->head_dim,
                               (size_t)n_past + 1, 1.0f / sqrtf((float)d->head_dim),
                               st->qkv + (size_t)s0 * 3 * n, 3 * n, tw_dec_kv_type(st), k, n, vt,
                               (size_t)d->n_text_ctx, st->attn + (size_t)s0 * n, n);
    if (rc == TW_EUNSUPPORTED && s0 == 0) return rc;
    if (rc)
      return tw_err(&st->err, rc, "decoder: self-attention step: %s",
                    tw_stream_last_error(st->ctx));
  }
  return TW_OK;
}

/* Causal self-attention of each sequence over its cache, into st->attn. */
static int self_attention(tw_decoder_state *st, int l, int n_seq, int n_tok, int n_past) {
  if (n_tok == 1) {
    int rc = attend_fused(st, l, n_seq, n_past);
    if (rc != TW_EUNSUPPORTED) return rc;
  }
  for (int s = 0; s < n_seq; s++) {
    int rc = n_tok == 1 ? attend_step(st, l, s, n_past) : attend_prefill(st, l, s, n_tok, n_past);
    if (rc) return rc;
  }
  return TW_OK;
}

/* Cross-attention of all m rows over the window's K/V (shared by every
 * sequence, so one product per head for all of them), into st->attn. */
static int cross_attention(tw_decoder_state *st, int l, size_t m) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, hd = (size_t)d->head_dim, T = (size_t)st->n_audio_ctx;
  const float scale = 1.0f / sqrtf((float)hd);
  const size_t hl = (size_t)l * d->n_head;
  int rc = tw_attention_cross(st->ctx, m, (size_t)d->n_head, hd, T, scale, st->qkv, 3 * n,
                              (const tw_weight *const *)st->cross_k_t + hl,
                              (const tw_weight *const *)st->cross_v + hl, st->attn, n,
                              st->gemm_opts.a_compute != TW_DTYPE_F32);
  if (rc != TW_EUNSUPPORTED) {
    if (rc)
      return tw_err(&st->err, rc, "decoder: cross-attention: %s", tw_stream_last_error(st->ctx));
    return TW_OK;
  }
  for (size_t h = 0; h < (size_t)d->n_head; h++) {
    const size_t i = hl + h;
    rc = gemm(st, m, hd, st->qkv + h * hd, TW_DTYPE_F32, 3 * n, st->cross_k_t[i], st->scores, T,
              "cross-attention Q K^T");
    if (rc) return rc;
    tw_op_softmax(st->pool, m, T, st->scores, T, scale, st->probs, d->act, T, st->rows);
    if ((rc = gemm(st, m, T, st->probs, d->act, T, st->cross_v[i], st->attn + h * hd, n,
                   "cross-attention P V")))
      return rc;
  }
  return TW_OK;
}

/* One pre-LN residual block over all rows. */
static int block_forward(tw_decoder_state *st, int l, int n_seq, int n_tok, int n_past) {
  const tw_decoder *d = st->dec;
  const tw_dec_block *B = &d->blocks[l];
  const size_t M = (size_t)n_seq * n_tok, n = (size_t)d->n_state;
  const tw_dtype act = d->act;
  int rc;
  /* x += out(self_attention(attn_ln(x))) */
  tw_op_layernorm(st->pool, M, n, st->x, n, B->attn_ln_w, B->attn_ln_b, 1e-5f, st->xn, act, n);
  if ((rc = gemm(st, M, n, st->xn, act, n, B->qkv, st->qkv, 3 * n, "attn.query|key|value")))
    return rc;
  store_kv(st, l, n_seq, n_tok, n_past);
  if ((rc = self_attention(st, l, n_seq, n_tok, n_past)) ||
      (rc = gemm(st, M, n, st->attn, TW_DTYPE_F32, n, B->o, st->proj, n, "attn.out")))
    return rc;
  tw_op_add(st->pool, M, n, st->x, n, st->proj, n);
  /* x += out(cross_attention(cross_attn_ln(x))) */
  tw_op_layernorm(st->pool, M, n, st->x, n, B->cross_ln_w, B->cross_ln_b, 1e-5f, st->xn, act, n);
  if ((rc = gemm(st, M, n, st->xn, act, n, B->cq, st->qkv, 3 * n, "cross_attn.query")) ||
      (rc = cross_attention(st, l, M)) ||
      (rc = gemm(st, M, n, st->attn, TW_DTYPE_F32, n, B->co, st->proj, n, "cross_attn.out")))
    return rc;
  tw_op_add(st->pool, M, n, st->x, n, st->proj, n);
  /* x += mlp.2(GELU(mlp.0(mlp_ln(x)))) */
  tw_op_layernorm(st->pool, M, n, st->x, n, B->mlp_ln_w, B->mlp_ln_b, 1e-5f, st->xn, act, n);
  if ((rc = gemm(st, M, n, st->xn, act, n, B->fc1, st->mlp_h, 4 * n, "mlp.0"))) return rc;
  tw_op_gelu(st->pool, M, 4 * n, st->mlp_h, 4 * n, st->mlp_a, act, 4 * n);
  if ((rc = gemm(st, M, 4 * n, st->mlp_a, act, 4 * n, B->fc2, st->proj, n, "mlp.2"))) return rc;
  tw_op_add(st->pool, M, n, st->x, n, st->proj, n);
  return TW_OK;
}

static int check_call(tw_decoder_state *st, int n_seq, int n_tok, const int32_t *tokens,
                      int n_past, int out_from, const float *logits) {
  const tw_decoder *d = st->dec;
  if (!tokens || !logits)
    return tw_err(&st->err, TW_EINVAL, "decoder: decode: %s is NULL", tokens ? "logits" : "tokens");
  if (!st->has_audio)
    return tw_err(&st->err, TW_EINVAL, "decoder: decode before set_audio (no window's audio)");
  if (n_seq < 1 || n_seq > st->max_seq || n_tok < 1 || out_from < 0 || out_from >= n_tok ||
      n_past < 0)
    return tw_err(&st->err, TW_EINVAL,
                  "decoder: decode of %d sequences (max %d) x %d tokens from %d, logits from %d",
                  n_seq, st->max_seq, n_tok, n_past, out_from);
  if ((long)n_seq * n_tok > st->max_rows)
    return tw_err(&st->err, TW_EINVAL,
                  "decoder: decode of %d x %d tokens exceeds the state's %d rows per call", n_seq,
                  n_tok, st->max_rows);
  if (n_past + n_tok > d->n_text_ctx)
    return tw_err(&st->err, TW_EINVAL,
                  "decoder: positions %d..%d exceed the text context of n_text_ctx = %d", n_past,
                  n_past + n_tok - 1, d->n_text_ctx);
  for (int i = 0; i < n_seq * n_tok; i++)
    if (tokens[i] < 0 || tokens[i] >= d->n_vocab)
      return tw_err(&st->err, TW_EINVAL,
                    "decoder: token %d (sequence %d, index %d) outside [0, n_vocab = %d)",
                    (int)tokens[i], i / n_tok, i % n_tok, d->n_vocab);
  return TW_OK;
}

int tw_decoder_decode(tw_decoder_state *st, int n_seq, int n_tok, const int32_t *tokens,
                      int n_past, int out_from, float *logits) {
  if (!st) return tw_err(NULL, TW_EINVAL, "decoder: NULL state");
  int rc = check_call(st, n_seq, n_tok, tokens, n_past, out_from, logits);
  if (rc) return rc;
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, n_out = (size_t)(n_tok - out_from);
  embed(st, n_seq, n_tok, tokens, n_past);
  for (int l = 0; l < d->n_layer; l++)
    if ((rc = block_forward(st, l, n_seq, n_tok, n_past))) return rc;
  /* final LayerNorm of the requested positions only, packed per sequence */
  for (int s = 0; s < n_seq; s++) {
    const float *x = st->x + ((size_t)s * n_tok + (size_t)out_from) * n;
    void *y = (char *)st->xn + (size_t)s * n_out * n * (d->act == TW_DTYPE_BF16 ? 2 : 4);
    tw_op_layernorm(st->pool, n_out, n, x, n, d->ln_w, d->ln_b, 1e-5f, y, d->act, n);
  }
  /* logits = LN(x) . token_embedding^T */
  return gemm(st, (size_t)n_seq * n_out, n, st->xn, d->act, n, d->logits, logits,
              (size_t)d->n_vocab, "logits");
}

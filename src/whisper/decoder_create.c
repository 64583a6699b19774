/* Decoder construction: check the model's decoder tensors, prepare every
 * weight once on the preparation context, copy the vector parameters to
 * fp32.  The result is read-only and shared by every decoder state. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "gemm/context.h"
#include "device/device.h"
#include "whisper/weight_source.h"
#include "whisper/decoder_impl.h"

void tw_decoder_options_init(tw_decoder_options *opts) { memset(opts, 0, sizeof *opts); }

/* ---- validation ---- */

static int missing(tw_errbuf *err, const tw_tensor *t, const char *name) {
  if (!t || !t->data)
    return tw_err(err, TW_EINVAL, "decoder: tensor %s is missing (does the model file hold the "
                  "decoder?)", name);
  /* quantized 2-D matrices are dequantized at preparation (the loader
   * refuses quantized vectors and positional embeddings) */
  if (t->type != TW_TENSOR_F32 && t->type != TW_TENSOR_F16 &&
      !(t->n_dims == 2 && tw_tensor_is_quantized(t)))
    return tw_err(err, TW_EINVAL, "decoder: tensor %s has an unsupported type", name);
  return TW_OK;
}

/* A PyTorch [d1, d0] matrix or (d1 = 1) a vector: ne = {d0, d1}. */
static int check_shape(tw_errbuf *err, const tw_tensor *t, const char *name, int64_t d0,
                       int64_t d1) {
  int rc = missing(err, t, name);
  if (rc) return rc;
  int64_t n1 = t->n_dims > 1 ? t->ne[1] : 1;
  if (t->ne[0] != d0 || n1 != d1 || t->n_elements != (size_t)(d0 * d1))
    return tw_err(err, TW_ESHAPE, "decoder: tensor %s has ne = [%lld, %lld], expected [%lld, %lld]",
                  name, (long long)t->ne[0], (long long)n1, (long long)d0, (long long)d1);
  return TW_OK;
}

static int check_block(tw_errbuf *err, const tw_decoder_layer *L, int i, int64_t n) {
  const struct {
    const tw_tensor *t;
    const char *suffix;
    int64_t d0, d1;
  } want[] = {
      {L->attn_ln_w, "attn_ln.weight", n, 1},         {L->attn_ln_b, "attn_ln.bias", n, 1},
      {L->attn_q_w, "attn.query.weight", n, n},       {L->attn_q_b, "attn.query.bias", n, 1},
      {L->attn_k_w, "attn.key.weight", n, n},         {L->attn_v_w, "attn.value.weight", n, n},
      {L->attn_v_b, "attn.value.bias", n, 1},         {L->attn_out_w, "attn.out.weight", n, n},
      {L->attn_out_b, "attn.out.bias", n, 1},         {L->cross_ln_w, "cross_attn_ln.weight", n, 1},
      {L->cross_ln_b, "cross_attn_ln.bias", n, 1},
      {L->cross_q_w, "cross_attn.query.weight", n, n},
      {L->cross_q_b, "cross_attn.query.bias", n, 1},
      {L->cross_k_w, "cross_attn.key.weight", n, n},
      {L->cross_v_w, "cross_attn.value.weight", n, n},
      {L->cross_v_b, "cross_attn.value.bias", n, 1},
      {L->cross_out_w, "cross_attn.out.weight", n, n},
      {L->cross_out_b, "cross_attn.out.bias", n, 1},
      {L->mlp_ln_w, "mlp_ln.weight", n, 1},           {L->mlp_ln_b, "mlp_ln.bias", n, 1},
      {L->mlp_0_w, "mlp.0.weight", n, 4 * n},         {L->mlp_0_b, "mlp.0.bias", 4 * n, 1},
      {L->mlp_2_w, "mlp.2.weight", 4 * n, n},         {L->mlp_2_b, "mlp.2.bias", n, 1}};
  for (size_t j = 0; j < sizeof want / sizeof want[0]; j++) {
    char nm[96];
    snprintf(nm, sizeof nm, "decoder.blocks.%d.%s", i, want[j].suffix);
    int rc = check_shape(err, want[j].t, nm, want[j].d0, want[j].d1);
    if (rc) return rc;
  }
  return TW_OK;
}

static int check_model(tw_errbuf *err, const tw_whisper_model *m) {
  const tw_whisper_hparams *hp = &m->hp;
  const int n = hp->n_text_state;
  if (n < 1 || n > 16384 || hp->n_text_head < 1 || n % hp->n_text_head != 0 ||
      hp->n_text_layer < 1 || hp->n_text_layer > 1024 || hp->n_text_ctx < 1 ||
      hp->n_text_ctx > 65536 || hp->n_vocab < 1)
    return tw_err(err, TW_EINVAL,
                  "decoder: bad hparams: n_text_state %d, n_text_head %d, n_text_layer %d, "
                  "n_text_ctx %d, n_vocab %d",
                  n, hp->n_text_head, hp->n_text_layer, hp->n_text_ctx, hp->n_vocab);
  if (n != hp->n_audio_state)
    return tw_err(err, TW_EINVAL, "decoder: n_text_state %d differs from n_audio_state %d", n,
                  hp->n_audio_state);
  int rc;
  if ((rc = check_shape(err, m->dec_tok_emb, "decoder.token_embedding.weight", n, hp->n_vocab)) ||
      (rc = check_shape(err, m->dec_pos_emb, "decoder.positional_embedding", n, hp->n_text_ctx)))
    return rc;
  for (int i = 0; i < hp->n_text_layer; i++)
    if ((rc = !m->dec_layers ? check_shape(err, NULL, "decoder.blocks.0.attn_ln.weight", n, 1)
                             : check_block(err, &m->dec_layers[i], i, n)))
      return rc;
  if ((rc = check_shape(err, m->dec_ln_w, "decoder.ln.weight", n, 1)) ||
      (rc = check_shape(err, m->dec_ln_b, "decoder.ln.bias", n, 1)))
    return rc;
  return TW_OK;
}

/* ---- vectors and weights ---- */


/* A PyTorch Linear weight [n][k] (y = x W^T + b) or the token embedding
 * [n_vocab][n_state] read the same way for the logits. */
static int prepare_linear(tw_decoder *d, const tw_tensor *w, const float *bias, size_t k,
                          size_t n, tw_weight **out) {
  tw_weight_desc desc = {.k = k, .n = n, .ld = k, .transposed = 1, .bias = bias,
                         .storage = d->act, .name = w->name};
  float *dequantized = NULL; /* quantized files: dequantized here, prepared as f32 */
  int rc = tw_whisper_weight_source(w, &desc, &dequantized, &d->err);
  if (rc) return rc;
  rc = tw_weight_prepare(d->dev, &desc, out);
  tw_free(dequantized);
  if (rc)
    return tw_err(&d->err, rc, "decoder: preparing %s (K %zu, N %zu) on %s: %s", w->name, k, n,
                  d->dev->name, tw_device_last_error(d->dev));
  return TW_OK;
}

/* Linear layers of the same input stacked along N as one weight (the
 * PyTorch [out, in] matrices one after another), read to fp32 first. */
static int prepare_stacked(tw_decoder *d, const tw_tensor *const *ws, int count, const float *bias,
                           const char *name, tw_weight **out) {
  const size_t n = (size_t)d->n_state, each = n * n;
  float *stack = tw_malloc_aligned((size_t)count * each * sizeof *stack);
  if (!stack) return tw_err(&d->err, TW_ENOMEM, "decoder: out of memory stacking %s", name);
  for (int i = 0; i < count; i++)
    if (tw_tensor_read_f32(ws[i], 0, each, stack + (size_t)i * each)) {
      tw_free(stack);
      return tw_err(&d->err, TW_EFORMAT, "decoder: reading %s: %s", ws[i]->name, tw_last_error());
    }
  tw_weight_desc desc = {.data = stack, .dtype = TW_DTYPE_F32, .k = n, .n = (size_t)count * n,
                         .ld = n, .transposed = 1, .bias = bias, .storage = d->act, .name = name};
  int rc = tw_weight_prepare(d->dev, &desc, out);
  tw_free(stack);
  if (rc)
    return tw_err(&d->err, rc, "decoder: preparing %s (K %zu, N %zu) on %s: %s", name, n,
                  (size_t)count * n, d->dev->name,
                  tw_device_last_error(d->dev));
  return TW_OK;
}

/* Biases of stacked weights: a key has none, so its part is 0. */
static const float *stacked_bias(float **cur, const tw_tensor *const *bs, int count, size_t n) {
  float *dst = *cur;
  for (int i = 0; i < count; i++) {
    if (bs[i])
      tw_tensor_take_f32(cur, bs[i], n);
    else
      memset(*cur, 0, n * sizeof(float)), *cur += n;
  }
  return dst;
}

static int prepare_block(tw_decoder *d, const tw_decoder_layer *L, int i, tw_dec_block *B,
                         float **cur) {
  const size_t n = (size_t)d->n_state;
  B->attn_ln_w = tw_tensor_take_f32(cur, L->attn_ln_w, n);
  B->attn_ln_b = tw_tensor_take_f32(cur, L->attn_ln_b, n);
  B->cross_ln_w = tw_tensor_take_f32(cur, L->cross_ln_w, n);
  B->cross_ln_b = tw_tensor_take_f32(cur, L->cross_ln_b, n);
  B->mlp_ln_w = tw_tensor_take_f32(cur, L->mlp_ln_w, n);
  B->mlp_ln_b = tw_tensor_take_f32(cur, L->mlp_ln_b, n);
  const tw_tensor *qkv_w[] = {L->attn_q_w, L->attn_k_w, L->attn_v_w};
  const tw_tensor *qkv_b[] = {L->attn_q_b, NULL, L->attn_v_b};
  const tw_tensor *kv_w[] = {L->cross_k_w, L->cross_v_w}, *kv_b[] = {NULL, L->cross_v_b};
  const float *qkvb = stacked_bias(cur, qkv_b, 3, n), *kvb = stacked_bias(cur, kv_b, 2, n);
  const float *ob = tw_tensor_take_f32(cur, L->attn_out_b, n), *cqb = tw_tensor_take_f32(cur, L->cross_q_b, n);
  const float *cob = tw_tensor_take_f32(cur, L->cross_out_b, n);
  const float *b0 = tw_tensor_take_f32(cur, L->mlp_0_b, 4 * n), *b2 = tw_tensor_take_f32(cur, L->mlp_2_b, n);
  char qkv_name[64], kv_name[64];
  snprintf(qkv_name, sizeof qkv_name, "decoder.blocks.%d.attn.query|key|value", i);
  snprintf(kv_name, sizeof kv_name, "decoder.blocks.%d.cross_attn.key|value", i);
  int rc;
  if ((rc = prepare_stacked(d, qkv_w, 3, qkvb, qkv_name, &B->qkv)) ||
      (rc = prepare_linear(d, L->attn_out_w, ob, n, n, &B->o)) ||
      (rc = prepare_linear(d, L->cross_q_w, cqb, n, n, &B->cq)) ||
      (rc = prepare_stacked(d, kv_w, 2, kvb, kv_name, &B->ckv)) ||
      (rc = prepare_linear(d, L->cross_out_w, cob, n, n, &B->co)) ||
      (rc = prepare_linear(d, L->mlp_0_w, b0, n, 4 * n, &B->fc1)) ||
      (rc = prepare_linear(d, L->mlp_2_w, b2, 4 * n, n, &B->fc2)))
    return rc;
  return TW_OK;
}

/* 19 n values per block (6 LayerNorm vectors, the stacked q|k|v and
 * cross k|v biases of 3 n and 2 n, 3 more of n, mlp.0's of 4 n, mlp.2's),
 * the positions and the final LayerNorm. */
static int prepare_weights(tw_decoder *d) {
  const tw_whisper_model *m = d->model;
  const size_t n = (size_t)d->n_state;
  const size_t n_vecs = (size_t)d->n_layer * 19 * n + (size_t)d->n_text_ctx * n + 2 * n;
  d->vecs = tw_malloc_aligned(n_vecs * sizeof(float));
  d->blocks = tw_calloc_aligned((size_t)d->n_layer, sizeof *d->blocks);
  if (!d->vecs || !d->blocks)
    return tw_err(&d->err, TW_ENOMEM, "decoder: out of memory for %zu parameters", n_vecs);
  float *cur = d->vecs;
  d->pos = tw_tensor_take_f32(&cur, m->dec_pos_emb, (size_t)d->n_text_ctx * n);
  d->ln_w = tw_tensor_take_f32(&cur, m->dec_ln_w, n);
  d->ln_b = tw_tensor_take_f32(&cur, m->dec_ln_b, n);
  int rc;
  for (int i = 0; i < d->n_layer; i++)
    if ((rc = prepare_block(d, &m->dec_layers[i], i, &d->blocks[i], &cur))) return rc;
  return prepare_linear(d, m->dec_tok_emb, NULL, n, (size_t)d->n_vocab, &d->logits);
}

/* ---- create / destroy ---- */

int tw_decoder_create(const tw_whisper_model *model, tw_device *dev,
                      const tw_decoder_options *opts, tw_decoder **out, tw_errbuf *err) {
  if (out) *out = NULL;
  if (!model || !dev || !out)
    return tw_err(err, TW_EINVAL, "decoder: %s is NULL",
                  !model ? "model" : !dev ? "device" : "out");
  int rc = check_model(err, model);
  if (rc) return rc;
  tw_decoder *d = tw_calloc_aligned(1, sizeof *d);
  if (!d) return tw_err(err, TW_ENOMEM, "decoder: out of memory");
  d->model = model;
  d->dev = dev;
  d->n_state = model->hp.n_text_state;
  d->n_head = model->hp.n_text_head;
  d->head_dim = d->n_state / d->n_head;
  d->n_layer = model->hp.n_text_layer;
  d->n_vocab = model->hp.n_vocab;
  d->n_text_ctx = model->hp.n_text_ctx;
  d->act = opts && opts->fp32 ? TW_DTYPE_F32 : TW_DTYPE_BF16;
  if ((rc = prepare_weights(d))) {
    if (err) *err = d->err;
    tw_decoder_destroy(d);
    return rc;
  }
  *out = d;
  return TW_OK;
}

void tw_decoder_destroy(tw_decoder *d) {
  if (!d) return;
  for (int i = 0; d->blocks && i < d->n_layer; i++) {
    tw_dec_block *B = &d->blocks[i];
    tw_weight *ws[] = {B->qkv, B->o, B->cq, B->ckv, B->co, B->fc1, B->fc2};
    for (size_t j = 0; j < sizeof ws / sizeof ws[0]; j++) tw_weight_destroy(ws[j]);
  }
  tw_weight_destroy(d->logits);
  tw_free(d->blocks);
  tw_free(d->vecs);
  tw_free(d);
}

int tw_decoder_n_vocab(const tw_decoder *d) { return d->n_vocab; }
int tw_decoder_n_text_ctx(const tw_decoder *d) { return d->n_text_ctx; }

double tw_decoder_step_weight_bytes(const tw_decoder *d) {
  const double n = d->n_state, es = d->act == TW_DTYPE_BF16 ? 2.0 : 4.0;
  /* self q, k, v, out + cross q, out (6 n^2) + MLP (8 n^2) per layer */
  return es * (d->n_layer * 14.0 * n * n + (double)d->n_vocab * n);
}

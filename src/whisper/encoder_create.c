/* Encoder construction: the shared weights (check the model's tensors,
 * prepare every weight once on the device, copy the vector parameters to
 * fp32) and one stream's state (every activation buffer for the run's shape
 * and the per-head attention operands). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "device/device.h"
#include "gemm/context.h"
#include "gemm/engine.h"
#include "whisper/encoder_impl.h"
#include "whisper/weight_source.h"

void tw_encoder_options_init(tw_encoder_options *opts) { memset(opts, 0, sizeof *opts); }

/* ---- validation ---- */

static int tensor_ok(const tw_tensor *t) {
  return t && t->data && (t->type == TW_TENSOR_F32 || t->type == TW_TENSOR_F16);
}

/* 2-D weight matrices may also be quantized (whisper.cpp's q4_0 ... files):
 * prepare_linear dequantizes them.  Vectors and the positional embedding
 * never are (check_model), and the vectors are read as f32/f16. */
static int matrix_ok(const tw_tensor *t) {
  return tensor_ok(t) || (t && t->data && t->n_dims == 2 && tw_tensor_is_quantized(t));
}

/* A vector of n values (any dims: conv biases are stored as [n, 1]). */
static int check_vector(tw_errbuf *err, const tw_tensor *t, const char *name, int n) {
  if (!tensor_ok(t)) return tw_err(err, TW_EINVAL, "encoder: tensor %s is missing or has a bad type", name);
  if (t->n_elements != (size_t)n || t->ne[0] * (t->n_dims > 1 ? t->ne[1] : 1) != n)
    return tw_err(err, TW_ESHAPE, "encoder: tensor %s has %zu elements, expected %d", name,
                  t->n_elements, n);
  return TW_OK;
}

/* A PyTorch [d2, d1, d0] tensor (d2 = 1 for matrices): ne = {d0, d1, d2}. */
static int check_shape(tw_errbuf *err, const tw_tensor *t, const char *name, int64_t d0,
                       int64_t d1, int64_t d2) {
  if (!matrix_ok(t)) return tw_err(err, TW_EINVAL, "encoder: tensor %s is missing or has a bad type", name);
  int64_t n2 = t->n_dims > 2 ? t->ne[2] : 1;
  if (t->n_dims < 2 || t->ne[0] != d0 || t->ne[1] != d1 || n2 != d2 ||
      t->n_elements != (size_t)(d0 * d1 * d2))
    return tw_err(err, TW_ESHAPE,
                  "encoder: tensor %s has ne = [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                  name, (long long)t->ne[0], (long long)t->ne[1], (long long)n2, (long long)d0,
                  (long long)d1, (long long)d2);
  return TW_OK;
}

static int check_block(tw_errbuf *err, const tw_encoder_layer *L, int i, int n) {
  char nm[96];
#define VEC(field, suffix, len)                                            \
  snprintf(nm, sizeof nm, "encoder.blocks.%d.%s", i, suffix);              \
  if ((rc = check_vector(err, L->field, nm, len))) return rc;
#define MAT(field, suffix, in, out)                                        \
  snprintf(nm, sizeof nm, "encoder.blocks.%d.%s", i, suffix);              \
  if ((rc = check_shape(err, L->field, nm, in, out, 1))) return rc;
  int rc;
  VEC(attn_ln_w, "attn_ln.weight", n) VEC(attn_ln_b, "attn_ln.bias", n)
  MAT(attn_q_w, "attn.query.weight", n, n) VEC(attn_q_b, "attn.query.bias", n)
  MAT(attn_k_w, "attn.key.weight", n, n)
  MAT(attn_v_w, "attn.value.weight", n, n) VEC(attn_v_b, "attn.value.bias", n)
  MAT(attn_out_w, "attn.out.weight", n, n) VEC(attn_out_b, "attn.out.bias", n)
  VEC(mlp_ln_w, "mlp_ln.weight", n) VEC(mlp_ln_b, "mlp_ln.bias", n)
  MAT(mlp_0_w, "mlp.0.weight", n, 4 * n) VEC(mlp_0_b, "mlp.0.bias", 4 * n)
  MAT(mlp_2_w, "mlp.2.weight", 4 * n, n) VEC(mlp_2_b, "mlp.2.bias", n)
#undef VEC
#undef MAT
  return TW_OK;
}

static int check_model(tw_errbuf *err, const tw_whisper_model *m, int n_ctx) {
  const tw_whisper_hparams *hp = &m->hp;
  const int n = hp->n_audio_state;
  if (n < 1 || n > 16384 || hp->n_audio_head < 1 || n % hp->n_audio_head != 0 ||
      hp->n_audio_layer < 1 || hp->n_audio_layer > TW_ENCODER_MAX_LAYERS || hp->n_mels < 1 ||
      hp->n_mels > 1024 || hp->n_audio_ctx < 1 || hp->n_audio_ctx > 65536)
    return tw_err(err, TW_EINVAL,
                  "encoder: bad hparams: n_audio_state %d, n_audio_head %d, n_audio_layer %d, "
                  "n_mels %d, n_audio_ctx %d",
                  n, hp->n_audio_head, hp->n_audio_layer, hp->n_mels, hp->n_audio_ctx);
  if (n_ctx < 1 || n_ctx > hp->n_audio_ctx)
    return tw_err(err, TW_EINVAL, "encoder: n_ctx %d outside [1, n_audio_ctx = %d]", n_ctx,
                  hp->n_audio_ctx);
  if (!m->enc_layers) return tw_err(err, TW_EINVAL, "encoder: model has no encoder blocks");
  int rc;
  if (tw_tensor_is_quantized(m->enc_pos_emb))
    return tw_err(err, TW_EINVAL, "encoder: encoder.positional_embedding is quantized");
  if ((rc = check_shape(err, m->enc_pos_emb, "encoder.positional_embedding", n, hp->n_audio_ctx, 1)) ||
      (rc = check_shape(err, m->conv1_w, "encoder.conv1.weight", 3, hp->n_mels, n)) ||
      (rc = check_vector(err, m->conv1_b, "encoder.conv1.bias", n)) ||
      (rc = check_shape(err, m->conv2_w, "encoder.conv2.weight", 3, n, n)) ||
      (rc = check_vector(err, m->conv2_b, "encoder.conv2.bias", n)) ||
      (rc = check_vector(err, m->enc_ln_post_w, "encoder.ln_post.weight", n)) ||
      (rc = check_vector(err, m->enc_ln_post_b, "encoder.ln_post.bias", n)))
    return rc;
  for (int i = 0; i < hp->n_audio_layer; i++)
    if ((rc = check_block(err, &m->enc_layers[i], i, n))) return rc;
  return TW_OK;
}

/* ---- vectors and weights ---- */


static int prepare(tw_device *dev, tw_errbuf *err, const tw_weight_desc *d, tw_weight **out) {
  int rc = tw_weight_prepare(dev, d, out);
  if (rc)
    return tw_err(err, rc, "encoder: preparing %s (K %zu, N %zu) on %s: %s", d->name, d->k,
                  d->n, dev->name, tw_device_last_error(dev));
  return TW_OK;
}

/* A PyTorch Linear (or Conv1d read as one): weight [n][k], y = x W^T + b.
 * The engine reads the source through memcpy, so file data need not be
 * aligned. */
static int prepare_linear(tw_encoder_weights *e, tw_errbuf *err, const tw_tensor *w,
                          const float *bias, size_t k, size_t n, tw_weight **out) {
  tw_weight_desc d = {.k = k, .n = n, .ld = k, .transposed = 1, .bias = bias,
                      .storage = e->act, .name = w->name};
  float *dequantized = NULL;
  int rc = tw_whisper_weight_source(w, &d, &dequantized, err);
  if (rc == TW_OK) rc = prepare(e->dev, err, &d, out);
  tw_free(dequantized);
  if (!rc) e->device_bytes += k * n * (e->act == TW_DTYPE_BF16 ? 2 : 4);
  return rc;
}

static int prepare_block(tw_encoder_weights *e, tw_errbuf *err, const tw_encoder_layer *L,
                         tw_enc_block *B, float **cur) {
  const size_t n = (size_t)e->n_state;
  B->attn_ln_w = tw_tensor_take_f32(cur, L->attn_ln_w, n);
  B->attn_ln_b = tw_tensor_take_f32(cur, L->attn_ln_b, n);
  B->mlp_ln_w = tw_tensor_take_f32(cur, L->mlp_ln_w, n);
  B->mlp_ln_b = tw_tensor_take_f32(cur, L->mlp_ln_b, n);
  const float *qb = tw_tensor_take_f32(cur, L->attn_q_b, n), *vb = tw_tensor_take_f32(cur, L->attn_v_b, n);
  const float *ob = tw_tensor_take_f32(cur, L->attn_out_b, n), *b0 = tw_tensor_take_f32(cur, L->mlp_0_b, 4 * n);
  const float *b2 = tw_tensor_take_f32(cur, L->mlp_2_b, n);
  int rc;
  if ((rc = prepare_linear(e, err, L->attn_q_w, qb, n, n, &B->q)) ||
      (rc = prepare_linear(e, err, L->attn_k_w, NULL, n, n, &B->k)) ||
      (rc = prepare_linear(e, err, L->attn_v_w, vb, n, n, &B->v)) ||
      (rc = prepare_linear(e, err, L->attn_out_w, ob, n, n, &B->o)) ||
      (rc = prepare_linear(e, err, L->mlp_0_w, b0, n, 4 * n, &B->fc1)) ||
      (rc = prepare_linear(e, err, L->mlp_2_w, b2, 4 * n, n, &B->fc2)))
    return rc;
  return TW_OK;
}

/* Predicted seconds of one head's P V product of shape m x k x n on a
 * queued (fixed-shape) device, plus the upload of its refilled operand. */
static double product_cost(const tw_device *dev, size_t m, size_t k, size_t n, size_t upload) {
  tw_plan_request req = {.m = m, .k = k, .n = n, .kernel = -1};
  tw_plan plan;
  if (tw_plan_choose(dev, &req, &plan, NULL)) return INFINITY;
  const double bw = dev->costs.h2d_bytes_per_s;
  return plan.predicted_s + (bw > 0 ? (double)upload / bw : 0.0);
}

/* Whether to compute P V_h as (V_h^T P^T)^T.  Any-shape devices (a direct
 * gemm) take P V_h as it is: both cost the same flops and refilling V_h is
 * far smaller than refilling P.  On fixed-shape devices the planner's cost
 * model decides: kernels 512 wide in N waste most of a tile on N = head_dim. */
static int choose_pv_transposed(tw_encoder *e) {
  const tw_device *dev = e->w->dev;
  if (dev->layout == TW_LAYOUT_PACKED) return 0;
  const size_t T = (size_t)e->n_ctx, d = (size_t)e->head_dim, es = sizeof(tw_bf16);
  return product_cost(dev, d, T, T, T * T * es) < product_cost(dev, T, T, d, T * d * es);
}

/* Per-head attention operands, refilled with tw_weight_update per head:
 * K_h^T is the head's columns of K read as N x K (transposed) with
 * ld = n_state; V_h the head's columns of V (K x N, ld = n_state), or P^T
 * the softmax output read as N x K (transposed). */
static int prepare_attention_operands(tw_encoder *e) {
  const size_t T = (size_t)e->n_ctx, d = (size_t)e->head_dim, n = (size_t)e->n_state;
  tw_weight_desc kt = {.data = e->k, .dtype = TW_DTYPE_F32, .k = d, .n = T, .ld = n,
                       .transposed = 1, .storage = e->act, .name = "attention K_h^T"};
  tw_weight_desc vh = {.data = e->v, .dtype = TW_DTYPE_F32, .k = T, .n = d, .ld = n,
                       .transposed = 0, .storage = e->act, .name = "attention V_h"};
  tw_weight_desc pt = {.data = e->probs, .dtype = e->act, .k = T, .n = T, .ld = T,
                       .transposed = 1, .storage = e->act, .name = "attention P^T"};
  e->pv_transposed = e->pv_option == TW_PV_AUTO ? choose_pv_transposed(e)
                                                : e->pv_option == TW_PV_TRANSPOSED;
  tw_device *dev = e->w->dev;
  int rc;
  if ((rc = prepare(dev, &e->err, &kt, &e->k_t)) ||
      (rc = e->pv_transposed ? prepare(dev, &e->err, &pt, &e->p_t)
                             : prepare(dev, &e->err, &vh, &e->v_h)))
    return rc;
  return TW_OK;
}

static int prepare_weights(tw_encoder_weights *e, tw_errbuf *err) {
  const tw_whisper_model *m = e->model;
  const size_t n = (size_t)e->n_state;
  size_t n_vecs = (size_t)e->n_layer * 12 * n + 4 * n + (size_t)e->n_audio_ctx * n;
  if (!(e->vecs = tw_malloc_aligned(n_vecs * sizeof(float))))
    return tw_err(err, TW_ENOMEM, "encoder: out of memory for %zu parameters", n_vecs);
  if (!(e->blocks = tw_calloc_aligned((size_t)e->n_layer, sizeof *e->blocks)))
    return tw_err(err, TW_ENOMEM, "encoder: out of memory for %d blocks", e->n_layer);
  float *cur = e->vecs;
  e->pos = tw_tensor_take_f32(&cur, m->enc_pos_emb, (size_t)e->n_audio_ctx * n);
  e->ln_post_w = tw_tensor_take_f32(&cur, m->enc_ln_post_w, n);
  e->ln_post_b = tw_tensor_take_f32(&cur, m->enc_ln_post_b, n);
  const float *c1b = tw_tensor_take_f32(&cur, m->conv1_b, n), *c2b = tw_tensor_take_f32(&cur, m->conv2_b, n);
  int rc;
  if ((rc = prepare_linear(e, err, m->conv1_w, c1b, 3 * (size_t)e->n_mels, n, &e->conv1)) ||
      (rc = prepare_linear(e, err, m->conv2_w, c2b, 3 * n, n, &e->conv2)))
    return rc;
  for (int i = 0; i < e->n_layer; i++)
    if ((rc = prepare_block(e, err, &m->enc_layers[i], &e->blocks[i], &cur))) return rc;
  return TW_OK;
}

/* ---- buffers ---- */

static int alloc_buffers(tw_encoder *e) {
  const size_t T = (size_t)e->n_ctx, F = (size_t)e->n_frames, n = (size_t)e->n_state;
  const size_t as = e->act == TW_DTYPE_BF16 ? 2 : 4, f = sizeof(float);
  const size_t col1 = F * 3 * (size_t)e->n_mels, col2 = T * 3 * n;
  e->col = tw_calloc_aligned(col1 > col2 ? col1 : col2, as);
  e->h1 = tw_calloc_aligned(F * n, f);
  e->x = tw_calloc_aligned(T * n, f);
  e->xn = tw_calloc_aligned(T * n, as);
  e->q = tw_calloc_aligned(T * n, f);
  e->k = tw_calloc_aligned(T * n, f);
  e->v = tw_calloc_aligned(T * n, f);
  e->scores = tw_calloc_aligned(T * T, f);
  e->probs = tw_calloc_aligned(T * T, as);
  e->rows = tw_calloc_aligned((size_t)tw_threadpool_size(e->pool) * T, f);
  e->v_t = tw_calloc_aligned((size_t)e->head_dim * T, as);
  e->o_t = tw_calloc_aligned((size_t)e->head_dim * T, f);
  e->attn = tw_calloc_aligned(T * n, f);
  e->proj = tw_calloc_aligned(T * n, f);
  e->mlp_h = tw_calloc_aligned(T * 4 * n, f);
  e->out = tw_calloc_aligned(T * n, f);
  if (!e->col || !e->h1 || !e->x || !e->xn || !e->q || !e->k || !e->v || !e->scores ||
      !e->probs || !e->rows || !e->v_t || !e->o_t || !e->attn || !e->proj || !e->mlp_h ||
      !e->out)
    return tw_err(&e->err, TW_ENOMEM, "encoder: out of memory for activations (n_ctx %zu)", T);
  return TW_OK;
}

/* ---- create / destroy ---- */

int tw_encoder_weights_create(const tw_whisper_model *model, tw_device *dev, int fp32,
                              tw_encoder_weights **out, tw_errbuf *err) {
  if (out) *out = NULL;
  if (!model || !dev || !out)
    return tw_err(err, TW_EINVAL, "encoder: %s is NULL", !model ? "model" : !dev ? "device" : "out");
  int rc = check_model(err, model, model->hp.n_audio_ctx);
  if (rc) return rc;
  tw_encoder_weights *e = tw_calloc_aligned(1, sizeof *e);
  if (!e) return tw_err(err, TW_ENOMEM, "encoder: out of memory");
  e->model = model;
  e->dev = dev;
  e->n_state = model->hp.n_audio_state;
  e->n_head = model->hp.n_audio_head;
  e->head_dim = e->n_state / e->n_head;
  e->n_layer = model->hp.n_audio_layer;
  e->n_mels = model->hp.n_mels;
  e->n_audio_ctx = model->hp.n_audio_ctx;
  e->act = fp32 ? TW_DTYPE_F32 : TW_DTYPE_BF16;
  if ((rc = prepare_weights(e, err))) {
    tw_encoder_weights_destroy(e);
    return rc;
  }
  *out = e;
  return TW_OK;
}

void tw_encoder_weights_destroy(tw_encoder_weights *e) {
  if (!e) return;
  tw_weight_destroy(e->conv1);
  tw_weight_destroy(e->conv2);
  for (int i = 0; e->blocks && i < e->n_layer; i++) {
    tw_enc_block *B = &e->blocks[i];
    tw_weight *ws[] = {B->q, B->k, B->v, B->o, B->fc1, B->fc2};
    for (size_t j = 0; j < sizeof ws / sizeof ws[0]; j++) tw_weight_destroy(ws[j]);
  }
  tw_free(e->blocks);
  tw_free(e->vecs);
  tw_free(e);
}

size_t tw_encoder_weights_device_bytes(const tw_encoder_weights *w) { return w ? w->device_bytes : 0; }

int tw_encoder_create(const tw_encoder_weights *w, tw_stream *stream,
                      const tw_encoder_options *opts, tw_encoder **out, tw_errbuf *err) {
  if (out) *out = NULL;
  if (!w || !stream || !out)
    return tw_err(err, TW_EINVAL, "encoder: %s is NULL", !w ? "weights" : !stream ? "stream" : "out");
  if (tw_stream_device(stream) != w->dev)
    return tw_err(err, TW_EWRONGDEVICE, "encoder: the stream runs on %s, the weights are on %s",
                  tw_stream_device(stream)->name, w->dev->name);
  tw_encoder_options defaults;
  tw_encoder_options_init(&defaults);
  if (!opts) opts = &defaults;
  const int n_ctx = opts->n_ctx ? opts->n_ctx : w->n_audio_ctx;
  if (opts->pv < TW_PV_AUTO || opts->pv > TW_PV_TRANSPOSED)
    return tw_err(err, TW_EINVAL, "encoder: pv option %d is not TW_PV_AUTO, _DIRECT or _TRANSPOSED",
                  opts->pv);
  if (n_ctx < 1 || n_ctx > w->n_audio_ctx)
    return tw_err(err, TW_EINVAL, "encoder: n_ctx %d outside [1, n_audio_ctx = %d]", n_ctx,
                  w->n_audio_ctx);
  tw_encoder *e = tw_calloc_aligned(1, sizeof *e);
  if (!e) return tw_err(err, TW_ENOMEM, "encoder: out of memory");
  e->w = w;
  e->stream = stream;
  e->pool = tw_stream_pool(stream);
  e->n_state = w->n_state;
  e->n_head = w->n_head;
  e->head_dim = w->head_dim;
  e->n_layer = w->n_layer;
  e->n_mels = w->n_mels;
  e->n_ctx = n_ctx;
  e->n_frames = 2 * n_ctx;
  e->act = w->act;
  e->gemm_opts.a_compute = e->act;
  e->pv_option = opts->pv;
  int rc;
  if ((rc = alloc_buffers(e)) || (rc = prepare_attention_operands(e))) {
    if (err) *err = e->err;
    tw_encoder_destroy(e);
    return rc;
  }
  *out = e;
  return TW_OK;
}

void tw_encoder_destroy(tw_encoder *e) {
  if (!e) return;
  tw_weight_destroy(e->k_t);
  tw_weight_destroy(e->v_h);
  tw_weight_destroy(e->p_t);
  void *bufs[] = {e->col,   e->h1,     e->x,     e->xn,   e->q,    e->k,
                  e->v,     e->scores, e->probs, e->rows, e->v_t,  e->o_t,
                  e->attn,  e->proj,   e->mlp_h, e->out};
  for (size_t j = 0; j < sizeof bufs / sizeof bufs[0]; j++) tw_free(bufs[j]);
  tw_free(e);
}

int tw_encoder_n_ctx(const tw_encoder *e) { return e->n_ctx; }
int tw_encoder_n_frames(const tw_encoder *e) { return e->n_frames; }
int tw_encoder_n_state(const tw_encoder *e) { return e->n_state; }
int tw_encoder_pv(const tw_encoder *e) { return e->pv_transposed ? TW_PV_TRANSPOSED : TW_PV_DIRECT; }
const char *tw_encoder_last_error(const tw_encoder *e) { return e ? e->err.msg : ""; }

double tw_encoder_flops(const tw_whisper_hparams *hp, int n_ctx) {
  const double T = n_ctx, n = hp->n_audio_state, F = 2.0 * n_ctx;
  const double conv = 2.0 * F * 3.0 * hp->n_mels * n + 2.0 * T * 3.0 * n * n;
  /* q, k, v, out (4 T n^2) + MLP (8 T n^2) multiply-adds; QK^T and PV (2 T^2 n) */
  const double block = 2.0 * (12.0 * T * n * n + 2.0 * T * T * n);
  return conv + hp->n_audio_layer * block;
}

#include "tw_test_memmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_test.h"
#include "tw_test_dequant.h"

uint16_t tw_test_f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
  if (u >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to inf */
  if (u < 0x38800000u) {                       /* below 2^-14: a half subnormal, m * 2^-24 */
    double m = nearbyint(fabs((double)f) * 16777216.0); /* default rounding: to even */
    return sign | (uint16_t)m;
  }
  uint32_t mant = u & 0x7fffffu, h = (((u >> 23) - 112u) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return sign | (uint16_t)h;
}

double tw_test_f16_to_f64(uint16_t h) {
  int e = (h >> 10) & 0x1f;
  double m = h & 0x3ff, s = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 31) return m ? NAN : s * INFINITY;
  if (e == 0) return s * ldexp(m, -24);
  return s * ldexp(1024.0 + m, e - 25);
}

double tw_test_tensor_at(const tw_tensor *t, size_t i) {
  const unsigned char *p = t->data; /* may be unaligned, as in a mapped file */
  size_t bb = tw_test_block_bytes((int32_t)t->type);
  if (bb) return tw_test_block_value((int32_t)t->type, p + i / 32 * bb, (int)(i % 32));
  if (t->type == TW_TENSOR_F16) {
    uint16_t h;
    memcpy(&h, p + 2 * i, sizeof h);
    return tw_test_f16_to_f64(h);
  }
  float f;
  memcpy(&f, p + 4 * i, sizeof f);
  return f;
}

/* Model plus everything it points to, freed together. */
typedef struct memmodel {
  tw_whisper_model model;
  tw_tensor *tensors;
  size_t n_tensors, cap;
  tw_tensor_type mat_type, vec_type;
} memmodel;

static void store(tw_tensor *t, size_t i, float v) {
  if (t->type == TW_TENSOR_F16)
    ((uint16_t *)t->data)[i] = tw_test_f32_to_f16(v);
  else
    ((float *)t->data)[i] = v;
}

/* Adds a tensor of PyTorch shape [d2, d1, d0] (leading 0s dropped) */
static tw_tensor *add(memmodel *mm, const char *name, tw_tensor_type type, int64_t d2, int64_t d1,
                      int64_t d0) {
  if (mm->n_tensors == mm->cap) return NULL;
  tw_tensor *t = &mm->tensors[mm->n_tensors++];
  snprintf(t->name, sizeof t->name, "%.63s", name);
  t->type = type;
  t->ne[0] = d0;
  t->ne[1] = d1 ? d1 : 1;
  t->ne[2] = d2 ? d2 : 1;
  t->ne[3] = 1;
  t->n_dims = d2 ? 3 : d1 ? 2 : 1;
  t->n_elements = (size_t)(t->ne[0] * t->ne[1] * t->ne[2]);
  t->data = calloc(t->n_elements, type == TW_TENSOR_F16 ? 2 : 4);
  return t->data ? t : NULL;
}

static void fill_normal(tw_tensor *t, tw_rng *r, double mean, double std) {
  for (size_t i = 0; i < t->n_elements; i++) store(t, i, (float)(mean + std * tw_rng_normal(r)));
}

/* Whisper's sinusoids(length, channels): [sin(t * inc_i) | cos(t * inc_i)]. */
static void fill_sinusoids(tw_tensor *t, int length, int channels) {
  const int half = channels / 2;
  const double inc = log(10000.0) / (half - 1);
  for (int pos = 0; pos < length; pos++)
    for (int i = 0; i < half; i++) {
      double a = pos * exp(-inc * i);
      store(t, (size_t)pos * channels + i, (float)sin(a));
      store(t, (size_t)pos * channels + half + i, (float)cos(a));
    }
}

static const tw_tensor *mat(memmodel *mm, tw_rng *r, const char *name, int out, int in, double std) {
  tw_tensor *t = add(mm, name, mm->mat_type, 0, out, in);
  if (t) fill_normal(t, r, 0.0, std);
  return t;
}

static const tw_tensor *vec(memmodel *mm, tw_rng *r, const char *name, int n, double mean,
                            double std) {
  tw_tensor *t = add(mm, name, mm->vec_type, 0, 0, n);
  if (t) fill_normal(t, r, mean, std);
  return t;
}

static int build_block(memmodel *mm, tw_rng *r, int i, int n, double qk_std, tw_encoder_layer *L) {
  char nm[64];
#define NAME(s) (snprintf(nm, sizeof nm, "encoder.blocks.%d.%s", i, s), nm)
  L->attn_ln_w = vec(mm, r, NAME("attn_ln.weight"), n, 1.0, 0.05);
  L->attn_ln_b = vec(mm, r, NAME("attn_ln.bias"), n, 0.0, 0.05);
  L->attn_q_w = mat(mm, r, NAME("attn.query.weight"), n, n, qk_std);
  L->attn_q_b = vec(mm, r, NAME("attn.query.bias"), n, 0.0, 0.02);
  L->attn_k_w = mat(mm, r, NAME("attn.key.weight"), n, n, qk_std);
  L->attn_v_w = mat(mm, r, NAME("attn.value.weight"), n, n, 0.02);
  L->attn_v_b = vec(mm, r, NAME("attn.value.bias"), n, 0.0, 0.02);
  L->attn_out_w = mat(mm, r, NAME("attn.out.weight"), n, n, 0.02);
  L->attn_out_b = vec(mm, r, NAME("attn.out.bias"), n, 0.0, 0.02);
  L->mlp_ln_w = vec(mm, r, NAME("mlp_ln.weight"), n, 1.0, 0.05);
  L->mlp_ln_b = vec(mm, r, NAME("mlp_ln.bias"), n, 0.0, 0.05);
  L->mlp_0_w = mat(mm, r, NAME("mlp.0.weight"), 4 * n, n, 0.02);
  L->mlp_0_b = vec(mm, r, NAME("mlp.0.bias"), 4 * n, 0.0, 0.02);
  L->mlp_2_w = mat(mm, r, NAME("mlp.2.weight"), n, 4 * n, 0.02);
  L->mlp_2_b = vec(mm, r, NAME("mlp.2.bias"), n, 0.0, 0.02);
#undef NAME
  return L->attn_ln_w && L->attn_ln_b && L->attn_q_w && L->attn_q_b && L->attn_k_w &&
         L->attn_v_w && L->attn_v_b && L->attn_out_w && L->attn_out_b && L->mlp_ln_w &&
         L->mlp_ln_b && L->mlp_0_w && L->mlp_0_b && L->mlp_2_w && L->mlp_2_b;
}

/* One attention's four projections as decoder.blocks.i.<name>.* */
static int build_attention(memmodel *mm, tw_rng *r, const char *prefix, int n, double qk_std,
                           const tw_tensor **w) {
  static const char *const names[] = {"query.weight", "query.bias", "key.weight", "value.weight",
                                      "value.bias", "out.weight", "out.bias"};
  int ok = 1;
  for (int j = 0; j < 7; j++) {
    char nm[160];
    snprintf(nm, sizeof nm, "%s.%s", prefix, names[j]);
    const int is_bias = j == 1 || j == 4 || j == 6;
    w[j] = is_bias ? vec(mm, r, nm, n, 0.0, 0.02) : mat(mm, r, nm, n, n, j < 3 ? qk_std : 0.02);
    ok &= w[j] != NULL;
  }
  return ok;
}

static int build_dec_block(memmodel *mm, tw_rng *r, int i, int n, double qk_std,
                           tw_decoder_layer *L) {
  char nm[96], p[32];
  snprintf(p, sizeof p, "decoder.blocks.%d", i);
#define NAME(s) (snprintf(nm, sizeof nm, "%s.%s", p, s), nm)
  const tw_tensor *sa[7], *ca[7];
  L->attn_ln_w = vec(mm, r, NAME("attn_ln.weight"), n, 1.0, 0.05);
  L->attn_ln_b = vec(mm, r, NAME("attn_ln.bias"), n, 0.0, 0.05);
  int ok = build_attention(mm, r, NAME("attn"), n, qk_std, sa);
  L->cross_ln_w = vec(mm, r, NAME("cross_attn_ln.weight"), n, 1.0, 0.05);
  L->cross_ln_b = vec(mm, r, NAME("cross_attn_ln.bias"), n, 0.0, 0.05);
  ok &= build_attention(mm, r, NAME("cross_attn"), n, qk_std, ca);
  L->mlp_ln_w = vec(mm, r, NAME("mlp_ln.weight"), n, 1.0, 0.05);
  L->mlp_ln_b = vec(mm, r, NAME("mlp_ln.bias"), n, 0.0, 0.05);
  L->mlp_0_w = mat(mm, r, NAME("mlp.0.weight"), 4 * n, n, 0.02);
  L->mlp_0_b = vec(mm, r, NAME("mlp.0.bias"), 4 * n, 0.0, 0.02);
  L->mlp_2_w = mat(mm, r, NAME("mlp.2.weight"), n, 4 * n, 0.02);
  L->mlp_2_b = vec(mm, r, NAME("mlp.2.bias"), n, 0.0, 0.02);
#undef NAME
  L->attn_q_w = sa[0], L->attn_q_b = sa[1], L->attn_k_w = sa[2], L->attn_v_w = sa[3];
  L->attn_v_b = sa[4], L->attn_out_w = sa[5], L->attn_out_b = sa[6];
  L->cross_q_w = ca[0], L->cross_q_b = ca[1], L->cross_k_w = ca[2], L->cross_v_w = ca[3];
  L->cross_v_b = ca[4], L->cross_out_w = ca[5], L->cross_out_b = ca[6];
  return ok && L->attn_ln_w && L->attn_ln_b && L->cross_ln_w && L->cross_ln_b && L->mlp_ln_w &&
         L->mlp_ln_b && L->mlp_0_w && L->mlp_0_b && L->mlp_2_w && L->mlp_2_b;
}

static int build_decoder(memmodel *mm, tw_rng *r, const tw_test_model_spec *s) {
  tw_whisper_model *m = &mm->model;
  const int n = s->n_state;
  m->dec_tok_emb = mat(mm, r, "decoder.token_embedding.weight", s->n_vocab, n, 0.1);
  m->dec_pos_emb = vec(mm, r, "decoder.positional_embedding", s->n_text_ctx * n, 0.0, 0.1);
  if (!m->dec_tok_emb || !m->dec_pos_emb) return 0;
  tw_tensor *pos = (tw_tensor *)m->dec_pos_emb; /* [n_text_ctx, n_state] */
  pos->n_dims = 2, pos->ne[0] = n, pos->ne[1] = s->n_text_ctx;
  for (int i = 0; i < s->n_text_layer; i++)
    if (!build_dec_block(mm, r, i, n, s->qk_std > 0 ? s->qk_std : 0.02, &m->dec_layers[i]))
      return 0;
  m->dec_ln_w = vec(mm, r, "decoder.ln.weight", n, 1.0, 0.05);
  m->dec_ln_b = vec(mm, r, "decoder.ln.bias", n, 0.0, 0.05);
  return m->dec_ln_w && m->dec_ln_b;
}

static int build(memmodel *mm, const tw_test_model_spec *s) {
  tw_whisper_model *m = &mm->model;
  tw_rng r = {s->seed};
  const int n = s->n_state;
  tw_tensor *pos = add(mm, "encoder.positional_embedding", mm->vec_type, 0, s->n_audio_ctx, n);
  if (!pos) return 0;
  fill_sinusoids(pos, s->n_audio_ctx, n);
  m->enc_pos_emb = pos;
  tw_tensor *c1 = add(mm, "encoder.conv1.weight", mm->mat_type, n, s->n_mels, 3);
  tw_tensor *c1b = add(mm, "encoder.conv1.bias", mm->vec_type, 0, n, 1);
  tw_tensor *c2 = add(mm, "encoder.conv2.weight", mm->mat_type, n, n, 3);
  tw_tensor *c2b = add(mm, "encoder.conv2.bias", mm->vec_type, 0, n, 1);
  if (!c1 || !c1b || !c2 || !c2b) return 0;
  fill_normal(c1, &r, 0.0, 0.02);
  fill_normal(c1b, &r, 0.0, 0.02);
  fill_normal(c2, &r, 0.0, 0.02);
  fill_normal(c2b, &r, 0.0, 0.02);
  m->conv1_w = c1, m->conv1_b = c1b, m->conv2_w = c2, m->conv2_b = c2b;
  for (int i = 0; i < s->n_layer; i++)
    if (!build_block(mm, &r, i, n, s->qk_std > 0 ? s->qk_std : 0.02, &m->enc_layers[i])) return 0;
  m->enc_ln_post_w = vec(mm, &r, "encoder.ln_post.weight", n, 1.0, 0.05);
  m->enc_ln_post_b = vec(mm, &r, "encoder.ln_post.bias", n, 0.0, 0.05);
  if (!m->enc_ln_post_w || !m->enc_ln_post_b) return 0;
  return s->n_text_layer > 0 ? build_decoder(mm, &r, s) : 1;
}

tw_whisper_model *tw_test_model_create(const tw_test_model_spec *s) {
  memmodel *mm = calloc(1, sizeof *mm);
  if (!mm) return NULL;
  tw_whisper_model *m = &mm->model;
  m->hp.n_audio_ctx = s->n_audio_ctx;
  m->hp.n_audio_state = s->n_state;
  m->hp.n_audio_head = s->n_head;
  m->hp.n_audio_layer = s->n_layer;
  m->hp.n_mels = s->n_mels;
  m->hp.n_vocab = s->n_vocab;
  m->hp.n_text_ctx = s->n_text_ctx;
  m->hp.n_text_state = s->n_state;
  m->hp.n_text_head = s->n_head;
  m->hp.n_text_layer = s->n_text_layer;
  m->hp.ftype = s->matrices_f32 ? 0 : 1;
  mm->mat_type = s->matrices_f32 ? TW_TENSOR_F32 : TW_TENSOR_F16;
  mm->vec_type = s->vectors_f16 ? TW_TENSOR_F16 : TW_TENSOR_F32;
  snprintf(m->path, sizeof m->path, "(in-memory test model)");
  mm->cap = 7 + 15 * (size_t)s->n_layer + 4 + 24 * (size_t)s->n_text_layer;
  mm->tensors = calloc(mm->cap, sizeof *mm->tensors);
  m->enc_layers = calloc((size_t)s->n_layer, sizeof *m->enc_layers);
  m->dec_layers = calloc(s->n_text_layer > 0 ? (size_t)s->n_text_layer : 1, sizeof *m->dec_layers);
  if (!mm->tensors || !m->enc_layers || !m->dec_layers || !build(mm, s)) {
    tw_test_model_destroy(m);
    return NULL;
  }
  m->tensors = mm->tensors;
  m->n_tensors = mm->n_tensors;
  return m;
}

void tw_test_model_destroy(tw_whisper_model *model) {
  if (!model) return;
  memmodel *mm = (memmodel *)model; /* model is the first member */
  for (size_t i = 0; i < mm->n_tensors; i++) free((void *)mm->tensors[i].data);
  free(mm->tensors);
  free(model->enc_layers);
  free(model->dec_layers);
  free(mm);
}

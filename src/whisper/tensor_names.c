#include "whisper/tensor_names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

typedef struct spec_builder {
  tw_tensor_spec *specs;
  size_t n, cap;
  int encoder, layer;
} spec_builder;

#define FIELD(f) offsetof(tw_whisper_model, f)
#define LFIELD(f) offsetof(tw_encoder_layer, f)
#define DFIELD(f) offsetof(tw_decoder_layer, f)

/* Where a block's attention tensors go: fields of tw_encoder_layer or
 * tw_decoder_layer (self or cross), or nowhere. */
typedef struct attn_fields {
  size_t q_w, q_b, k_w, v_w, v_b, o_w, o_b;
} attn_fields;
#define ATTN_FIELDS(T, pre)                                                              \
  (attn_fields) {                                                                        \
    offsetof(T, pre##q_w), offsetof(T, pre##q_b), offsetof(T, pre##k_w),                 \
        offsetof(T, pre##v_w), offsetof(T, pre##v_b), offsetof(T, pre##out_w),           \
        offsetof(T, pre##out_b)                                                          \
  }

static tw_tensor_spec *add(spec_builder *b, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2,
                           int is_matrix, tw_spec_init init, size_t field, const char *fmt, ...)
    TW_PRINTF(9, 10);

static tw_tensor_spec *add(spec_builder *b, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2,
                           int is_matrix, tw_spec_init init, size_t field, const char *fmt, ...) {
  tw_tensor_spec *s = &b->specs[b->n++];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->name, sizeof s->name, fmt, ap);
  va_end(ap);
  s->n_dims = n_dims;
  s->ne[0] = ne0;
  s->ne[1] = ne1;
  s->ne[2] = ne2;
  s->ne[3] = 1;
  s->is_matrix = is_matrix;
  s->init = init;
  s->encoder = b->encoder;
  s->layer = b->layer;
  s->field = field;
  return s;
}

/* Linear layer `name`: weight [n_out, n_in] (ggml ne = {n_in, n_out}), f16
 * class, and an optional bias [n_out]. */
static void linear(spec_builder *b, const char *prefix, const char *name, int64_t n_in,
                   int64_t n_out, int bias, size_t wfield, size_t bfield) {
  add(b, 2, n_in, n_out, 1, 1, TW_INIT_NORMAL, wfield, "%s.%s.weight", prefix, name);
  if (bias) add(b, 1, n_out, 1, 1, 0, TW_INIT_NORMAL, bfield, "%s.%s.bias", prefix, name);
}

static void layernorm(spec_builder *b, const char *prefix, const char *name, int64_t n,
                      size_t wfield, size_t bfield) {
  add(b, 1, n, 1, 1, 0, TW_INIT_ONE, wfield, "%s.%s.weight", prefix, name);
  add(b, 1, n, 1, 1, 0, TW_INIT_ZERO, bfield, "%s.%s.bias", prefix, name);
}

/* attn.query/key/value/out as in whisper's MultiHeadAttention (key has no bias). */
static void attention(spec_builder *b, const char *prefix, const char *name, int64_t n,
                      attn_fields f) {
  char p[128];
  if (snprintf(p, sizeof p, "%s.%s", prefix, name) >= (int)sizeof p) return; /* names are short */
  linear(b, p, "query", n, n, 1, f.q_w, f.q_b);
  linear(b, p, "key", n, n, 0, f.k_w, TW_SPEC_NO_FIELD);
  linear(b, p, "value", n, n, 1, f.v_w, f.v_b);
  linear(b, p, "out", n, n, 1, f.o_w, f.o_b);
}

/* mlp.0, mlp.2 and mlp_ln; the field names are the same in both block types. */
static void mlp(spec_builder *b, const char *p, int64_t n, int enc) {
  linear(b, p, "mlp.0", n, 4 * n, 1, enc ? LFIELD(mlp_0_w) : DFIELD(mlp_0_w),
         enc ? LFIELD(mlp_0_b) : DFIELD(mlp_0_b));
  linear(b, p, "mlp.2", 4 * n, n, 1, enc ? LFIELD(mlp_2_w) : DFIELD(mlp_2_w),
         enc ? LFIELD(mlp_2_b) : DFIELD(mlp_2_b));
  layernorm(b, p, "mlp_ln", n, enc ? LFIELD(mlp_ln_w) : DFIELD(mlp_ln_w),
            enc ? LFIELD(mlp_ln_b) : DFIELD(mlp_ln_b));
}

static void encoder_specs(spec_builder *b, const tw_whisper_hparams *hp) {
  int64_t n = hp->n_audio_state;
  b->encoder = 1;
  b->layer = -1;
  add(b, 2, n, hp->n_audio_ctx, 1, 0, TW_INIT_SINUSOID, FIELD(enc_pos_emb),
      "encoder.positional_embedding");
  /* conv weight [n_out, n_in, 3] -> ne {3, n_in, n_out}; bias stored as [n, 1] */
  add(b, 3, 3, hp->n_mels, n, 1, TW_INIT_NORMAL, FIELD(conv1_w), "encoder.conv1.weight");
  add(b, 2, 1, n, 1, 0, TW_INIT_NORMAL, FIELD(conv1_b), "encoder.conv1.bias");
  add(b, 3, 3, n, n, 1, TW_INIT_NORMAL, FIELD(conv2_w), "encoder.conv2.weight");
  add(b, 2, 1, n, 1, 0, TW_INIT_NORMAL, FIELD(conv2_b), "encoder.conv2.bias");
  for (int i = 0; i < hp->n_audio_layer; i++) {
    char p[128];
    if (snprintf(p, sizeof p, "encoder.blocks.%d", i) >= (int)sizeof p) return;
    b->layer = i;
    attention(b, p, "attn", n, ATTN_FIELDS(tw_encoder_layer, attn_));
    layernorm(b, p, "attn_ln", n, LFIELD(attn_ln_w), LFIELD(attn_ln_b));
    mlp(b, p, n, 1);
  }
  b->layer = -1;
  layernorm(b, "encoder", "ln_post", n, FIELD(enc_ln_post_w), FIELD(enc_ln_post_b));
}

static void decoder_specs(spec_builder *b, const tw_whisper_hparams *hp) {
  int64_t n = hp->n_text_state;
  b->encoder = 0;
  b->layer = -1;
  add(b, 2, n, hp->n_text_ctx, 1, 0, TW_INIT_NORMAL, FIELD(dec_pos_emb),
      "decoder.positional_embedding");
  add(b, 2, n, hp->n_vocab, 1, 1, TW_INIT_NORMAL, FIELD(dec_tok_emb),
      "decoder.token_embedding.weight");
  for (int i = 0; i < hp->n_text_layer; i++) {
    char p[128];
    if (snprintf(p, sizeof p, "decoder.blocks.%d", i) >= (int)sizeof p) return;
    b->layer = i;
    attention(b, p, "attn", n, ATTN_FIELDS(tw_decoder_layer, attn_));
    layernorm(b, p, "attn_ln", n, DFIELD(attn_ln_w), DFIELD(attn_ln_b));
    attention(b, p, "cross_attn", n, ATTN_FIELDS(tw_decoder_layer, cross_));
    layernorm(b, p, "cross_attn_ln", n, DFIELD(cross_ln_w), DFIELD(cross_ln_b));
    mlp(b, p, n, 0);
  }
  b->layer = -1;
  layernorm(b, "decoder", "ln", n, FIELD(dec_ln_w), FIELD(dec_ln_b));
}

int tw_whisper_tensor_specs(const tw_whisper_hparams *hp, tw_tensor_spec **out, size_t *n,
                            tw_errbuf *err) {
  *out = NULL;
  *n = 0;
  if (hp->n_audio_layer < 0 || hp->n_text_layer < 0 || hp->n_audio_layer > 1024 ||
      hp->n_text_layer > 1024)
    return tw_err(err, TW_ERANGE, "layer counts %d/%d out of range", hp->n_audio_layer,
                  hp->n_text_layer);
  size_t cap = 7 + 15 * (size_t)hp->n_audio_layer + 4 + 24 * (size_t)hp->n_text_layer;
  spec_builder b = {0};
  b.specs = tw_calloc_aligned(cap, sizeof *b.specs);
  if (!b.specs) return tw_err(err, TW_ENOMEM, "tensor table: out of memory");
  b.cap = cap;
  encoder_specs(&b, hp);
  decoder_specs(&b, hp);
  *out = b.specs;
  *n = b.n;
  return 0;
}

const char *tw_ggml_type_name(int32_t t) {
  static const char *const names[] = {
      "f32",     "f16",    "q4_0",    "q4_1",  "q4_2",   "q4_3",  "q5_0",   "q5_1",
      "q8_0",    "q8_1",   "q2_K",    "q3_K",  "q4_K",   "q5_K",  "q6_K",   "q8_K",
      "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s",  "iq4_xs",
      "i8",      "i16",    "i32",     "i64",   "f64",    "iq1_m", "bf16"};
  if (t < 0 || (size_t)t >= sizeof names / sizeof names[0]) return "unknown";
  return names[t];
}

/* Synthetic whisper.cpp model files: real hyper-parameters, deterministic
 * random weights, written in the converter's order and storage types. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/fp16.h"
#include "core/mem.h"
#include "whisper/model.h"
#include "whisper/quant.h"
#include "whisper/tensor_names.h"

#define CHUNK 65536

typedef struct synth_rng {
  uint64_t s;
} synth_rng;

static uint64_t splitmix(synth_rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Box-Muller, one value per pair of uniforms (keeps the stream stateless). */
static double normal(synth_rng *r) {
  double u1 = ((double)(splitmix(r) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
  double u2 = (double)(splitmix(r) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* OpenAI's ModelDimensions of every released checkpoint, named as
 * whisper.cpp's files (ggml-NAME.bin).  The .en models have no language
 * tokens (51864); large-v3 adds one (51866) and 128 mel bins; turbo is
 * large-v3's encoder with 4 decoder layers. */
static const struct released {
  const char *name;
  int32_t state, head, enc_layers, dec_layers, mels, vocab;
} released[] = {
    {"tiny", 384, 6, 4, 4, 80, 51865},          {"tiny.en", 384, 6, 4, 4, 80, 51864},
    {"base", 512, 8, 6, 6, 80, 51865},          {"base.en", 512, 8, 6, 6, 80, 51864},
    {"small", 768, 12, 12, 12, 80, 51865},      {"small.en", 768, 12, 12, 12, 80, 51864},
    {"medium", 1024, 16, 24, 24, 80, 51865},    {"medium.en", 1024, 16, 24, 24, 80, 51864},
    {"large-v1", 1280, 20, 32, 32, 80, 51865},  {"large-v2", 1280, 20, 32, 32, 80, 51865},
    {"large-v3", 1280, 20, 32, 32, 128, 51866}, {"large-v3-turbo", 1280, 20, 32, 4, 128, 51866}};

int tw_whisper_hparams_for_size(const char *size, tw_whisper_hparams *hp, tw_errbuf *err) {
  for (size_t i = 0; size && i < sizeof released / sizeof released[0]; i++) {
    const struct released *r = &released[i];
    if (strcmp(size, r->name)) continue;
    tw_whisper_hparams h = {r->vocab, 1500, r->state, r->head, r->enc_layers,
                            448,      r->state, r->head, r->dec_layers, r->mels, 1};
    *hp = h;
    return 0;
  }
  return tw_err(err, TW_EINVAL,
                "unknown model size '%s' (tiny, base, small, medium [each also .en], large-v1, "
                "large-v2, large-v3, large-v3-turbo)",
                size ? size : "(null)");
}

const char *tw_whisper_size_name(int i) {
  return i >= 0 && (size_t)i < sizeof released / sizeof released[0] ? released[i].name : NULL;
}

typedef struct writer {
  FILE *f;
  int failed; /* the errno of the first failed write, or 0 */
} writer;

static void put(writer *w, const void *p, size_t n) {
  if (!w->failed && n && fwrite(p, 1, n, w->f) != n) w->failed = errno ? errno : EIO;
}

static void put_i32(writer *w, int32_t v) { put(w, &v, 4); }

static void write_header(writer *w, const tw_whisper_hparams *hp) {
  put_i32(w, 0x67676d6c);
  int32_t v[11] = {hp->n_vocab,      hp->n_audio_ctx,  hp->n_audio_state, hp->n_audio_head,
                   hp->n_audio_layer, hp->n_text_ctx,  hp->n_text_state,  hp->n_text_head,
                   hp->n_text_layer, hp->n_mels,       hp->ftype};
  put(w, v, sizeof v);
}

/* Mel filters and vocab: copied from `src` when given, else generated. */
static int write_filters_vocab(writer *w, const tw_whisper_hparams *hp,
                               const tw_whisper_model *src, tw_errbuf *err) {
  put_i32(w, hp->n_mels);
  put_i32(w, 201);
  if (src) {
    put(w, src->mel_filters, (size_t)src->n_mel * 201 * sizeof(float));
    put_i32(w, src->n_vocab_file);
    for (int32_t i = 0; i < src->n_vocab_file; i++) {
      put(w, &src->token_lens[i], 4);
      put(w, src->token_bytes[i], src->token_lens[i]);
    }
    return 0;
  }
  float *filters = tw_malloc_aligned((size_t)hp->n_mels * 201 * sizeof(float));
  if (!filters) return tw_err(err, TW_ENOMEM, "synth: out of memory");
  tw_mel_filters_slaney(hp->n_mels, filters);
  put(w, filters, (size_t)hp->n_mels * 201 * sizeof(float));
  tw_free(filters);
  put_i32(w, hp->n_vocab);
  for (int32_t i = 0; i < hp->n_vocab; i++) {
    char tok[16];
    int len = snprintf(tok, sizeof tok, "<%d>", (int)i);
    put_i32(w, len);
    put(w, tok, (size_t)len);
  }
  return 0;
}

/* Values of element range [i0, i0 + n) of tensor s; rng continues the
 * tensor's own stream. */
static void fill(const tw_tensor_spec *s, synth_rng *rng, const float *sinus, size_t i0, size_t n,
                 float *dst) {
  for (size_t i = 0; i < n; i++) {
    switch (s->init) {
      case TW_INIT_NORMAL: dst[i] = (float)(0.02 * normal(rng)); break;
      case TW_INIT_ONE: dst[i] = 1.0f; break;
      case TW_INIT_ZERO: dst[i] = 0.0f; break;
      case TW_INIT_SINUSOID: dst[i] = sinus[i0 + i]; break;
    }
  }
}

static void write_tensor(writer *w, const tw_tensor_spec *s, int32_t ttype, uint64_t seed,
                        size_t index, const float *sinus, float *buf) {
  size_t n = 1;
  for (int d = 0; d < 4; d++) n *= (size_t)s->ne[d];
  put_i32(w, s->n_dims);
  put_i32(w, (int32_t)strlen(s->name));
  put_i32(w, ttype);
  for (int d = 0; d < s->n_dims; d++) put_i32(w, (int32_t)s->ne[d]);
  put(w, s->name, strlen(s->name));
  synth_rng rng = {seed ^ (0xd1b54a32d192ed03ull * (index + 1))};
  for (size_t i0 = 0; i0 < n && !w->failed; i0 += CHUNK) {
    size_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
    fill(s, &rng, sinus, i0, k, buf);
    if (ttype == TW_GGML_F32) {
      put(w, buf, k * sizeof(float));
      continue;
    }
    if (ttype == TW_GGML_F16) {
      uint16_t *h = (uint16_t *)(buf + CHUNK);
      for (size_t i = 0; i < k; i++) h[i] = tw_fp32_to_fp16(buf[i]);
      put(w, h, k * sizeof(uint16_t));
      continue;
    }
    /* CHUNK and every row are whole blocks (synth_hparams checked) */
    size_t nb = k / tw_ggml_block_values(ttype);
    uint8_t *q = (uint8_t *)(buf + CHUNK);
    tw_quant_quantize(ttype, buf, nb, q);
    put(w, q, nb * tw_ggml_block_bytes(ttype));
  }
}

static int write_tensors(writer *w, const tw_whisper_hparams *hp, const tw_synth_options *o,
                         tw_errbuf *err) {
  tw_tensor_spec *specs = NULL;
  size_t n_specs = 0;
  int rc = tw_whisper_tensor_specs(hp, &specs, &n_specs, err);
  if (rc) return rc;
  /* values, then their encoding (at most 36 bytes per 32 values) */
  float *buf = tw_malloc_aligned(CHUNK * (sizeof(float) + sizeof(uint16_t)));
  float *sinus = tw_malloc_aligned((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
  if (!buf || !sinus) {
    rc = tw_err(err, TW_ENOMEM, "synth: out of memory");
  } else {
    tw_whisper_sinusoids(hp->n_audio_ctx, hp->n_audio_state, sinus);
    for (size_t i = 0; i < n_specs && !w->failed; i++) {
      /* as whisper.cpp's quantize tool: only the 2-D weight matrices */
      int32_t ttype = specs[i].is_matrix && !o->all_f32 ? TW_GGML_F16 : TW_GGML_F32;
      if (o->quant && specs[i].is_matrix && specs[i].n_dims == 2) ttype = o->quant;
      tw_tensor_spec s = specs[i];
      if (o->zero_weights && s.init == TW_INIT_NORMAL) s.init = TW_INIT_ZERO;
      write_tensor(w, &s, ttype, o->seed, i, sinus, buf);
    }
  }
  tw_free(sinus);
  tw_free(buf);
  tw_free(specs);
  return rc;
}

static int synth_hparams(const tw_synth_options *o, tw_whisper_hparams *hp, tw_errbuf *err) {
  int rc = 0;
  if (o->custom)
    *hp = *o->custom;
  else
    rc = tw_whisper_hparams_for_size(o->size, hp, err);
  if (rc) return rc;
  if (o->n_layers < 0 || o->n_layers > 256)
    return tw_err(err, TW_ERANGE, "synth: n_layers %d out of range [1, 256]", o->n_layers);
  if (o->n_layers > 0) hp->n_audio_layer = hp->n_text_layer = o->n_layers;
  /* ggml's ftype of the quantized file, plus 1000 * quantisation version 2 */
  static const int32_t qftype[][2] = {{TW_TENSOR_Q4_0, 2}, {TW_TENSOR_Q4_1, 3},
                                      {TW_TENSOR_Q5_0, 8}, {TW_TENSOR_Q5_1, 9},
                                      {TW_TENSOR_Q8_0, 7}};
  hp->ftype = o->all_f32 ? 0 : 1;
  if (o->quant) {
    hp->ftype = -1;
    for (size_t i = 0; i < sizeof qftype / sizeof qftype[0]; i++)
      if (qftype[i][0] == o->quant) hp->ftype = 2000 + qftype[i][1];
    if (hp->ftype < 0)
      return tw_err(err, TW_EINVAL, "synth: cannot write type %s (q4_0, q4_1, q5_0, q5_1, q8_0)",
                    tw_ggml_type_name(o->quant));
    if (hp->n_audio_state % 32 || hp->n_text_state % 32)
      return tw_err(err, TW_EINVAL,
                    "synth: n_state %d/%d: %s rows must be whole blocks of 32 values",
                    hp->n_audio_state, hp->n_text_state, tw_ggml_type_name(o->quant));
  }
  if (hp->n_mels != 80 && hp->n_mels != 128)
    return tw_err(err, TW_EINVAL, "synth: n_mels %d (80 or 128)", hp->n_mels);
  if (hp->n_audio_layer < 1 || hp->n_text_layer < 1 || hp->n_audio_state < 2 ||
      hp->n_audio_state % 2 || hp->n_audio_head < 1 || hp->n_audio_state % hp->n_audio_head ||
      hp->n_text_state < 1 || hp->n_text_head < 1 || hp->n_text_state % hp->n_text_head ||
      hp->n_vocab < 1 || hp->n_audio_ctx < 1 || hp->n_text_ctx < 1)
    return tw_err(err, TW_EINVAL, "synth: inconsistent hyper-parameters");
  return 0;
}

int tw_whisper_synth_write(const tw_synth_options *o, const char *path, tw_errbuf *err) {
  if (!o || !path) return tw_err(err, TW_EINVAL, "synth: options or path is NULL");
  tw_whisper_hparams hp;
  int rc = synth_hparams(o, &hp, err);
  if (rc) return rc;
  if (o->header_path && tw_same_file(path, o->header_path))
    return tw_err(err, TW_EINVAL, "synth: output %s is the header file %s: refusing to overwrite "
                  "an input", path, o->header_path);
  tw_whisper_model *src = NULL;
  if (o->header_path) {
    rc = tw_whisper_model_load_ex(o->header_path, TW_LOAD_HEADER_ONLY, &src, err);
    if (rc) return rc;
    if (src->n_mel != hp.n_mels) {
      rc = tw_err(err, TW_EINVAL, "synth: header %s has %d mel bins, the model needs %d",
                  o->header_path, src->n_mel, hp.n_mels);
      tw_whisper_model_free(src);
      return rc;
    }
  }
  /* written under a temporary name and renamed whole: a failure leaves no
   * partial file and an existing file untouched */
  tw_atomic_file af;
  if ((rc = tw_atomic_open(&af, path, err))) {
    tw_whisper_model_free(src);
    return rc;
  }
  writer w = {af.f, 0};
  write_header(&w, &hp);
  rc = write_filters_vocab(&w, &hp, src, err);
  if (rc == 0) rc = write_tensors(&w, &hp, o, err);
  tw_whisper_model_free(src);
  if (rc == 0 && w.failed) rc = tw_err(err, TW_EIO, "%s: cannot write: %s", path, strerror(w.failed));
  if (rc) {
    tw_atomic_abort(&af);
    return rc;
  }
  return tw_atomic_commit(&af, err);
}

int tw_hparams_for_size(const char *size, tw_hparams *out) {
  if (!size || !out) return tw_err(NULL, TW_EINVAL, "tw_hparams_for_size: %s is NULL", size ? "out" : "size");
  return tw_whisper_hparams_for_size(size, out, NULL);
}

int tw_synth_model_write(const tw_synth_options *opts, const char *path) {
  if (!opts || !path)
    return tw_err(NULL, TW_EINVAL, "tw_synth_model_write: %s is NULL", opts ? "path" : "options");
  return tw_whisper_synth_write(opts, path, NULL);
}

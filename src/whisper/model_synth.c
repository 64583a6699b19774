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

int tw_whisper_hparams_for_size(const char *size, tw_whisper_hparams *hp, tw_errbuf *err) {
  static const struct {
    const char *name;
    int32_t state, head, layer, mels, vocab;
  } sizes[] = {{"tiny", 384, 6, 4, 80, 51865},         {"base", 512, 8, 6, 80, 51865},
               {"small", 768, 12, 12, 80, 51865},      {"medium", 1024, 16, 24, 80, 51865},
               {"large-v2", 1280, 20, 32, 80, 51865},  {"large-v3", 1280, 20, 32, 128, 51866}};
  for (size_t i = 0; size && i < sizeof sizes / sizeof sizes[0]; i++) {
    if (strcmp(size, sizes[i].name)) continue;
    tw_whisper_hparams h = {sizes[i].vocab, 1500, sizes[i].state, sizes[i].head, sizes[i].layer,
                            448, sizes[i].state, sizes[i].head, sizes[i].layer, sizes[i].mels, 1};
    *hp = h;
    return 0;
  }
  return tw_err(err, TW_EINVAL, "unknown model size '%s' (tiny, base, small, medium, large-v2, "
                "large-v3)", size ? size : "(null)");
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
    uint16_t *h = (uint16_t *)(buf + CHUNK);
    for (size_t i = 0; i < k; i++) h[i] = tw_fp32_to_fp16(buf[i]);
    put(w, h, k * sizeof(uint16_t));
  }
}

static int write_tensors(writer *w, const tw_whisper_hparams *hp, const tw_synth_options *o,
                         tw_errbuf *err) {
  tw_tensor_spec *specs = NULL;
  size_t n_specs = 0;
  int rc = tw_whisper_tensor_specs(hp, &specs, &n_specs, err);
  if (rc) return rc;
  float *buf = tw_malloc_aligned(CHUNK * (sizeof(float) + sizeof(uint16_t)));
  float *sinus = tw_malloc_aligned((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
  if (!buf || !sinus) {
    rc = tw_err(err, TW_ENOMEM, "synth: out of memory");
  } else {
    tw_whisper_sinusoids(hp->n_audio_ctx, hp->n_audio_state, sinus);
    for (size_t i = 0; i < n_specs && !w->failed; i++) {
      int32_t ttype = specs[i].is_matrix && !o->all_f32 ? TW_GGML_F16 : TW_GGML_F32;
      write_tensor(w, &specs[i], ttype, o->seed, i, sinus, buf);
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
  hp->ftype = o->all_f32 ? 0 : 1;
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

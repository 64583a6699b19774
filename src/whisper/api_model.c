/* tw_model: a loaded file with its weights prepared on one or two devices. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "device/device.h"
#include "whisper/api_internal.h"
#include "whisper/tensor_names.h"

void tw_model_options_init(tw_model_options *opts) {
  if (!opts) return;
  memset(opts, 0, sizeof *opts);
  opts->device = "cpu";
}

/* A device from "NAME[:SELECTOR|KEY=VALUE,...]" ("emu:large=1", "opencl:0.1":
 * the registry parses it); the message goes to err too. */
static int open_device(const char *spec, const char *kernels, int threads, tw_device **out,
                       tw_errbuf *err) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = spec && *spec ? spec : "cpu"; /* "emu:large=1", "opencl:0.1": the registry parses */
  o.kernels = kernels;
  o.threads = threads;
  int rc = tw_device_create(&o, out);
  if (rc) return tw_err_forward(err, rc);
  return TW_OK;
}

/* Known released shapes by (n_audio_state, n_audio_layer, n_text_layer,
 * n_mels): the name users know the model by. */
static const char *size_name(const tw_whisper_hparams *hp) {
  static const struct {
    int state, enc_layers, dec_layers, mels;
    const char *name;
  } sizes[] = {{384, 4, 4, 80, "tiny"},        {512, 6, 6, 80, "base"},
               {768, 12, 12, 80, "small"},     {1024, 24, 24, 80, "medium"},
               {1280, 32, 32, 80, "large"},    {1280, 32, 32, 128, "large-v3"},
               {1280, 32, 4, 128, "large-v3-turbo"}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (hp->n_audio_state == sizes[i].state && hp->n_audio_layer == sizes[i].enc_layers &&
        hp->n_text_layer == sizes[i].dec_layers && hp->n_mels == sizes[i].mels)
      return sizes[i].name;
  return "custom";
}

static int encoder_complete(const tw_whisper_model *m) {
  if (!m->enc_pos_emb || !m->conv1_w || !m->conv1_b || !m->conv2_w || !m->conv2_b ||
      !m->enc_ln_post_w || !m->enc_ln_post_b || !m->enc_layers)
    return 0;
  for (int l = 0; l < m->hp.n_audio_layer; l++)
    if (!m->enc_layers[l].attn_q_w || !m->enc_layers[l].mlp_2_b) return 0;
  return 1;
}

static int decoder_complete(const tw_whisper_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->n_tensors; i++) n += strncmp(m->tensors[i].name, "decoder.", 8) == 0;
  /* token + positional embedding, 2 final LayerNorm vectors, 24 per block */
  return n == 4 + 24 * (size_t)m->hp.n_text_layer;
}

static int prepare(tw_model *m, const tw_model_options *o) {
  const char *enc_spec = o->encoder_device ? o->encoder_device : o->device;
  const char *dec_spec = o->decoder_device ? o->decoder_device : o->device;
  if (!enc_spec) enc_spec = "cpu";
  if (!dec_spec) dec_spec = "cpu";
  int rc = open_device(enc_spec, o->kernels, o->threads, &m->enc_dev, &m->err);
  if (rc) return rc;
  if (strcmp(enc_spec, dec_spec) == 0) {
    m->dec_dev = m->enc_dev;
  } else if ((rc = open_device(dec_spec, o->kernels, o->threads, &m->dec_dev, &m->err))) {
    return rc;
  }
  if ((rc = tw_encoder_weights_create(m->file, m->enc_dev, m->fp32, &m->enc, &m->err))) return rc;
  /* A file without decoder tensors (whisper.cpp's for-tests-ggml-base.bin)
   * still encodes; the decoding calls say why they cannot run. */
  if (!decoder_complete(m->file) || !m->tok) return TW_OK;
  tw_decoder_options dopt;
  tw_decoder_options_init(&dopt);
  dopt.fp32 = m->fp32;
  return tw_decoder_create(m->file, m->dec_dev, &dopt, &m->dec, &m->err);
}

static int finish_load(tw_model *m, const tw_model_options *o, tw_model **out) {
  /* the tokenizer is built whenever the vocabulary allows: inspection
   * reports its damage too */
  int rc = tw_model_tokens_init(m);
  if (rc) {
    tw_tokenizer_destroy(m->tok);
    m->tok = NULL;
    rc = TW_OK;
  }
  if (!m->inspect_only) rc = prepare(m, o);
  if (rc) {
    tw_err(NULL, rc, "%s", m->err.msg); /* the thread's message survives the destroy */
    tw_model_destroy(m);
    return rc;
  }
  *out = m;
  return TW_OK;
}

static tw_model *model_new(const tw_model_options *o) {
  tw_model *m = tw_calloc_aligned(1, sizeof *m);
  if (!m) return NULL;
  m->fp32 = o->fp32 != 0;
  m->inspect_only = o->inspect_only != 0;
  return m;
}

int tw_model_load_file(const char *path, const tw_model_options *opts, tw_model **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_model_load_file: out is NULL");
  *out = NULL;
  if (!path) return tw_err(NULL, TW_EINVAL, "tw_model_load_file: path is NULL");
  tw_model_options defaults;
  tw_model_options_init(&defaults);
  if (!opts) opts = &defaults;
  tw_model *m = model_new(opts);
  if (!m) return tw_err(NULL, TW_ENOMEM, "loading %s: out of memory", path);
  int rc = tw_whisper_model_load_ex(path, m->inspect_only ? TW_LOAD_HEADER_ONLY : 0, &m->file,
                                    &m->err);
  if (rc) {
    tw_model_destroy(m);
    return rc; /* the loader's message is the thread's last error */
  }
  return finish_load(m, opts, out);
}

int tw_model_load_buffer(const void *data, size_t size, const char *name,
                         const tw_model_options *opts, tw_model **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_model_load_buffer: out is NULL");
  *out = NULL;
  if (!data) return tw_err(NULL, TW_EINVAL, "tw_model_load_buffer: data is NULL");
  tw_model_options defaults;
  tw_model_options_init(&defaults);
  if (!opts) opts = &defaults;
  tw_model *m = model_new(opts);
  if (!m) return tw_err(NULL, TW_ENOMEM, "loading %s: out of memory", name ? name : "(buffer)");
  int rc = tw_whisper_model_load_memory(data, size, name ? name : "(buffer)",
                                        m->inspect_only ? TW_LOAD_HEADER_ONLY : 0, &m->file,
                                        &m->err);
  if (rc) {
    tw_model_destroy(m);
    return rc;
  }
  return finish_load(m, opts, out);
}

void tw_model_destroy(tw_model *m) {
  if (!m) return;
  tw_decoder_destroy(m->dec);
  tw_tokenizer_destroy(m->tok);
  tw_encoder_weights_destroy(m->enc);
  if (m->dec_dev != m->enc_dev) tw_device_destroy(m->dec_dev);
  tw_device_destroy(m->enc_dev);
  tw_whisper_model_free(m->file);
  tw_free(m);
}

const char *tw_model_last_error(const tw_model *m) { return m ? m->err.msg : ""; }
tw_device *tw_model_encoder_device(const tw_model *m) { return m ? m->enc_dev : NULL; }
tw_device *tw_model_decoder_device(const tw_model *m) { return m ? m->dec_dev : NULL; }

int tw_model_get_info(const tw_model *m, tw_model_info *out) {
  if (!m || !out) return tw_err(NULL, TW_EINVAL, "tw_model_get_info: %s is NULL", m ? "out" : "model");
  memset(out, 0, sizeof *out);
  const tw_whisper_hparams *hp = &m->file->hp;
  out->n_vocab = hp->n_vocab;
  out->n_audio_ctx = hp->n_audio_ctx;
  out->n_audio_state = hp->n_audio_state;
  out->n_audio_head = hp->n_audio_head;
  out->n_audio_layer = hp->n_audio_layer;
  out->n_text_ctx = hp->n_text_ctx;
  out->n_text_state = hp->n_text_state;
  out->n_text_head = hp->n_text_head;
  out->n_text_layer = hp->n_text_layer;
  out->n_mels = hp->n_mels;
  out->ftype = hp->ftype;
  out->multilingual = hp->n_vocab >= 51865;
  out->n_languages = out->multilingual ? hp->n_vocab - 51765 - 1 : 0;
  out->size = size_name(hp);
  out->has_encoder = encoder_complete(m->file);
  out->has_decoder = m->inspect_only ? decoder_complete(m->file) : m->dec != NULL;
  out->n_vocab_file = m->file->n_vocab_file;
  out->n_tensors = m->file->n_tensors;
  out->file_bytes = m->file->map_bytes;
  out->encoder_device_bytes = tw_encoder_weights_device_bytes(m->enc);
  out->decoder_step_bytes = m->dec ? tw_decoder_step_weight_bytes(m->dec) : 0.0;
  if (m->tok) {
    const tw_vocab_damage *d = tw_tokenizer_damage(m->tok);
    /* the old converter's U+FFFD in place of byte tokens, not a synthetic vocabulary */
    out->vocab_damaged = d->damaged && d->n_fffd_tokens > 8;
    out->vocab_fffd_tokens = d->n_fffd_tokens;
  }
  if (m->enc_dev) snprintf(out->encoder_device, sizeof out->encoder_device, "%s", m->enc_dev->name);
  if (m->dec_dev) snprintf(out->decoder_device, sizeof out->decoder_device, "%s", m->dec_dev->name);
  return TW_OK;
}

int tw_model_tensor(const tw_model *m, size_t i, tw_tensor_info *out) {
  if (!m || !out) return tw_err(NULL, TW_EINVAL, "tw_model_tensor: %s is NULL", m ? "out" : "model");
  if (i >= m->file->n_tensors)
    return tw_err(NULL, TW_ERANGE, "tw_model_tensor: index %zu of %zu tensors", i,
                  m->file->n_tensors);
  const tw_tensor *t = &m->file->tensors[i];
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", t->name);
  out->type = tw_ggml_type_name((int32_t)t->type);
  out->n_dims = t->n_dims;
  memcpy(out->ne, t->ne, sizeof out->ne);
  out->file_offset = t->file_offset;
  return TW_OK;
}

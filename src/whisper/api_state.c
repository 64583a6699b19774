/* tw_state: one stream of work over a shared model (streams, log-mel,
 * encoder activations), and audio decoding for applications. */
#include <string.h>

#include "core/mem.h"
#include "gemm/context.h"
#include "gemm/engine.h"
#include "whisper/api_internal.h"
#include "whisper/audio.h"

int tw_audio_read_file(const char *path, float **samples, size_t *n_samples,
                       tw_audio_info *info) {
  if (!samples || !n_samples)
    return tw_err(NULL, TW_EINVAL, "tw_audio_read_file: %s is NULL", samples ? "n_samples" : "samples");
  *samples = NULL;
  *n_samples = 0;
  if (!path) return tw_err(NULL, TW_EINVAL, "tw_audio_read_file: path is NULL");
  return tw_audio_load_ex(path, NULL, samples, n_samples, info, NULL);
}

int tw_audio_read_buffer(const void *data, size_t size, const char *name, float **samples,
                         size_t *n_samples, tw_audio_info *info) {
  if (!samples || !n_samples)
    return tw_err(NULL, TW_EINVAL, "tw_audio_read_buffer: %s is NULL", samples ? "n_samples" : "samples");
  *samples = NULL;
  *n_samples = 0;
  if (!data && size) return tw_err(NULL, TW_EINVAL, "tw_audio_read_buffer: data is NULL");
  return tw_audio_decode_memory(data, size, name ? name : "(buffer)", NULL, samples, n_samples,
                                info, NULL);
}

void tw_audio_free(float *samples) { tw_free(samples); }

void tw_state_options_init(tw_state_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

int tw_state_create(tw_model *model, const tw_state_options *opts, tw_state **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_state_create: out is NULL");
  *out = NULL;
  if (!model) return tw_err(NULL, TW_EINVAL, "tw_state_create: model is NULL");
  if (model->inspect_only || !model->enc)
    return tw_err(NULL, TW_EINVAL, "tw_state_create: the model was loaded for inspection only");
  tw_state_options defaults;
  tw_state_options_init(&defaults);
  if (!opts) opts = &defaults;
  tw_state *s = tw_calloc_aligned(1, sizeof *s);
  if (!s) return tw_err(NULL, TW_ENOMEM, "tw_state_create: out of memory");
  s->model = model;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.threads = opts->threads;
  int rc = tw_stream_create(model->enc_dev, &so, &s->enc_stream);
  if (rc) {
    tw_err(&s->err, rc, "tw_state_create: %s", tw_last_error());
    goto fail;
  }
  if (model->dec_dev == model->enc_dev) {
    s->dec_stream = s->enc_stream;
  } else if ((rc = tw_stream_create(model->dec_dev, &so, &s->dec_stream))) {
    tw_err(&s->err, rc, "tw_state_create: %s", tw_last_error());
    goto fail;
  }
  tw_encoder_options eo;
  tw_encoder_options_init(&eo);
  eo.n_ctx = opts->n_audio_ctx;
  const tw_whisper_model *f = model->file;
  if (opts->max_beams < 0 || opts->max_beams > 64) {
    rc = tw_err(&s->err, TW_EINVAL, "tw_state_create: max_beams %d is outside 0..64", opts->max_beams);
    goto fail;
  }
  if (model->dec &&
      (rc = tw_decoder_state_create(model->dec, s->dec_stream, opts->max_beams ? opts->max_beams : 5,
                                    opts->n_audio_ctx, &s->dec, &s->err)))
    goto fail;
  tw_state_source_init(s);
  if ((rc = tw_encoder_create(model->enc, s->enc_stream, &eo, &s->enc, &s->err)) ||
      (rc = tw_mel_create(f->mel_filters, f->n_mel, tw_stream_threads(s->enc_stream), &s->mel_ctx,
                          &s->err)))
    goto fail;
  if (!(s->window = tw_malloc_aligned((size_t)f->n_mel * TW_N_FRAMES * sizeof(float)))) {
    rc = tw_err(&s->err, TW_ENOMEM, "tw_state_create: out of memory for the mel window");
    goto fail;
  }
  *out = s;
  return TW_OK;
fail:
  tw_err(NULL, rc, "%s", s->err.msg);
  tw_state_destroy(s);
  return rc;
}

void tw_state_destroy(tw_state *s) {
  if (!s) return;
  tw_decoder_state_destroy(s->dec);
  tw_encoder_destroy(s->enc);
  if (s->dec_stream != s->enc_stream) tw_stream_destroy(s->dec_stream);
  tw_stream_destroy(s->enc_stream);
  tw_mel_destroy(s->mel_ctx);
  tw_free(s->mel);
  tw_free(s->window);
  tw_free(s);
}

const char *tw_state_last_error(const tw_state *s) { return s ? s->err.msg : ""; }
int tw_state_threads(const tw_state *s) { return s ? tw_stream_threads(s->enc_stream) : 0; }

int tw_state_stats(const tw_state *s, tw_gemm_stats *out) {
  if (!s || !out) return tw_err(NULL, TW_EINVAL, "tw_state_stats: %s is NULL", s ? "out" : "state");
  tw_stream_stats(s->enc_stream, out);
  if (s->dec_stream && s->dec_stream != s->enc_stream) {
    tw_gemm_stats d;
    tw_stream_stats(s->dec_stream, &d);
    tw_stats_add(out, &d);
  }
  return TW_OK;
}

int tw_state_set_pcm(tw_state *s, const float *samples, size_t n_samples, size_t *n_frames) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_state_set_pcm: state is NULL");
  if (!samples && n_samples) return tw_err(&s->err, TW_EINVAL, "tw_state_set_pcm: samples is NULL");
  float *mel = NULL;
  size_t frames = 0;
  int rc = tw_mel_compute(s->mel_ctx, samples, n_samples, &mel, &frames, &s->err);
  if (rc) return rc;
  tw_free(s->mel);
  s->mel = mel;
  s->n_frames = frames;
  s->content_frames = frames - TW_N_FRAMES;
  if (n_frames) *n_frames = frames;
  return TW_OK;
}

size_t tw_state_content_frames(const tw_state *s) { return s ? s->content_frames : 0; }

int tw_state_mel_window(tw_state *s, size_t seek, float *dst) {
  if (!s || !dst) return tw_err(s ? &s->err : NULL, TW_EINVAL, "tw_state_mel_window: %s is NULL",
                                s ? "dst" : "state");
  if (!s->mel) return tw_err(&s->err, TW_EINVAL, "tw_state_mel_window: no audio (tw_state_set_pcm)");
  if (seek > s->content_frames)
    return tw_err(&s->err, TW_ERANGE, "tw_state_mel_window: frame %zu is past the %zu frames of audio",
                  seek, s->content_frames);
  const int n_mels = s->model->file->n_mel;
  size_t take = s->content_frames - seek < TW_N_FRAMES ? s->content_frames - seek : TW_N_FRAMES;
  for (int b = 0; b < n_mels; b++) {
    const float *src = s->mel + (size_t)b * s->n_frames + seek;
    float *row = dst + (size_t)b * TW_N_FRAMES;
    memcpy(row, src, take * sizeof *row);
    memset(row + take, 0, (TW_N_FRAMES - take) * sizeof *row); /* pad_or_trim pads with 0.0 */
  }
  return TW_OK;
}

int tw_encode(tw_state *s, const float *mel, const float **out, tw_encode_stats *stats) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_encode: state is NULL");
  if (!mel) return tw_err(&s->err, TW_EINVAL, "tw_encode: mel is NULL");
  float *o = NULL;
  tw_encoder_timings t;
  int rc = tw_encoder_run(s->enc, mel, &o, &t);
  if (rc) return tw_err(&s->err, rc, "%s", tw_encoder_last_error(s->enc));
  if (out) *out = o;
  if (stats) {
    memset(stats, 0, sizeof *stats);
    stats->total_s = t.total_s;
    stats->conv_s = t.conv_s;
    stats->n_layers = t.n_layers < TW_ENCODE_MAX_LAYERS ? t.n_layers : TW_ENCODE_MAX_LAYERS;
    for (int i = 0; i < stats->n_layers; i++) {
      stats->layer_s[i] = t.layer_s[i];
      stats->layers_s += t.layer_s[i];
    }
    stats->ln_post_s = t.ln_post_s;
    stats->gemm_s = t.gemm_s;
    stats->gemm_calls = t.gemm_calls;
    stats->invocations = t.invocations;
    stats->flops = t.flops;
    stats->modeled_device_s = t.modeled_device_s;
  }
  return TW_OK;
}

int tw_encode_window(tw_state *s, size_t seek, const float **out, tw_encode_stats *stats) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_encode_window: state is NULL");
  int rc = tw_state_mel_window(s, seek, s->window);
  if (rc) return rc;
  /* A state built for fewer positions (tests) takes the first 2 n_ctx frames
   * of each mel row: repack them contiguously. */
  const size_t frames = (size_t)tw_encoder_n_frames(s->enc);
  if (frames < TW_N_FRAMES)
    for (int b = 1; b < s->model->file->n_mel; b++)
      memmove(s->window + (size_t)b * frames, s->window + (size_t)b * TW_N_FRAMES,
              frames * sizeof(float));
  return tw_encode(s, s->window, out, stats);
}

#include "whisper/transcribe.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "whisper/sampler_rng.h"
#include "whisper/transcribe_impl.h"

/* Most temperatures a schedule can hold (0.0 .. 1.0 in steps of 0.01). */
#define MAX_TEMPERATURES 128

void tw_loop_options_init(tw_loop_options *o) {
  static const int32_t default_suppress[] = {-1};
  memset(o, 0, sizeof *o);
  o->temperature = 0.0;
  o->temperature_increment = 0.2;
  o->compression_ratio_threshold = 2.4;
  o->logprob_threshold = -1.0;
  o->no_speech_threshold = 0.6;
  o->best_of = 5;
  o->length_penalty = NAN;
  o->condition_on_previous_text = 1;
  o->suppress_tokens = default_suppress;
  o->n_suppress_tokens = 1;
  o->suppress_blank = 1;
  o->max_initial_timestamp = 1.0;
  o->n_text_ctx = 448;
}

/* np.arange(start, 1.0 + 1e-6, inc): start + k * inc while below the bound. */
static int temperature_schedule(const tw_loop_options *o, double *t) {
  int n = 0;
  t[n++] = o->temperature;
  while (o->temperature_increment > 0 && n < MAX_TEMPERATURES) {
    double next = o->temperature + n * o->temperature_increment;
    if (!(next < 1.0 + 1e-6)) break;
    t[n++] = next;
  }
  return n;
}

/* What the loop shares across windows. */
typedef struct loop {
  const tw_logits_source *src;
  const tw_loop_options *opt;
  const tw_decode_tokens *ids;
  tw_window_decoder *dec;
  int32_t language_token;
  double temps[MAX_TEMPERATURES];
  int n_temps;
  int32_t *initial; /* [n_text_ctx / 2 + 4] */
  float *window;    /* [n_mels][3000] */
} loop;

static int needs_fallback(const tw_loop_options *o, const tw_decode_result *r) {
  int fail = 0;
  if (!isnan(o->compression_ratio_threshold) &&
      r->compression_ratio > o->compression_ratio_threshold)
    fail = 1; /* too repetitive */
  if (!isnan(o->logprob_threshold) && r->avg_logprob < o->logprob_threshold)
    fail = 1; /* too unlikely */
  if (!isnan(o->no_speech_threshold) && r->no_speech_prob > o->no_speech_threshold &&
      !isnan(o->logprob_threshold) && r->avg_logprob < o->logprob_threshold)
    fail = 0; /* silence: the no-speech skip decides, not another temperature */
  return fail;
}

/* decode_with_fallback: each temperature in turn until one passes; the last
 * one's result is kept even when it fails. */
static int decode_with_fallback(loop *L, int n_initial, int sot_index, int64_t seek,
                                tw_decode_result *res, tw_errbuf *err) {
  const tw_loop_options *o = L->opt;
  for (int k = 0; k < L->n_temps; k++) {
    tw_decode_options d;
    tw_decode_options_init(&d);
    d.temperature = L->temps[k];
    d.length_penalty = o->length_penalty;
    if (d.temperature > 0) {
      d.best_of = o->best_of;
    } else {
      d.beam_size = o->beam_size;
      d.patience = o->patience;
    }
    d.seed = tw_mix64(o->seed ^ tw_mix64(((uint64_t)seek << 8) | (uint64_t)k));
    int rc = tw_decode_window(L->dec, &d, L->initial, n_initial, sot_index, res, err);
    if (rc) return rc;
    if (!needs_fallback(o, res)) break;
  }
  return TW_OK;
}

/* OpenAI's pad_or_trim of the window's mel slice: content frames, then 0.0. */
static void slice_window(float *w, const float *mel, int n_mels, int64_t total, int64_t seek,
                         int64_t size) {
  for (int m = 0; m < n_mels; m++) {
    float *row = w + (size_t)m * TW_WINDOW_FRAMES;
    memcpy(row, mel + (size_t)m * (size_t)total + (size_t)seek, sizeof(float) * (size_t)size);
    for (int64_t f = size; f < TW_WINDOW_FRAMES; f++) row[f] = 0.0f;
  }
}

static int run_windows(loop *L, tw_tx *tx, const float *mel, int n_mels, int64_t content_frames,
                       int first_window_loaded, tw_errbuf *err) {
  const tw_loop_options *o = L->opt;
  int64_t seek = 0, total = content_frames + TW_WINDOW_FRAMES;
  int prompt_reset_since = 0, first = 1, rc;
  while (seek < content_frames) {
    if (o->should_abort && o->should_abort(o->user))
      return tw_err(err, TW_EABORTED, "transcription aborted by the caller");
    int64_t segment_size =
        content_frames - seek < TW_WINDOW_FRAMES ? content_frames - seek : TW_WINDOW_FRAMES;
    /* The first 3000 frames were already encoded for language detection. */
    if (!(first && first_window_loaded && segment_size == TW_WINDOW_FRAMES)) {
      slice_window(L->window, mel, n_mels, total, seek, segment_size);
      rc = L->src->set_audio(L->src->self, L->window);
      if (rc)
        return tw_err(err, rc < 0 ? rc : TW_EDEVICE, "encoder failed: %s",
                      L->src->last_error ? L->src->last_error(L->src->self) : tw_strerror(rc));
    }
    first = 0;
    int n_initial, sot_index;
    rc = tw_initial_tokens(L->ids, L->language_token, o->translate, o->without_timestamps,
                           tx->all_tokens + prompt_reset_since, tx->n_all - prompt_reset_since,
                           o->n_text_ctx, L->initial, &n_initial, &sot_index, err);
    if (rc) return rc;
    tw_decode_result r;
    rc = decode_with_fallback(L, n_initial, sot_index, seek, &r, err);
    if (rc) return rc;
    int skip = !isnan(o->no_speech_threshold) && r.no_speech_prob > o->no_speech_threshold;
    if (!isnan(o->logprob_threshold) && r.avg_logprob > o->logprob_threshold) skip = 0;
    if (skip) {
      seek += segment_size; /* silence: on to the next window, prompt untouched */
    } else {
      rc = tw__tx_add_window(tx, &r, &seek, segment_size, err);
      if (rc) return rc;
      if (!o->condition_on_previous_text || r.temperature > 0.5) prompt_reset_since = tx->n_all;
    }
    if (o->on_progress)
      o->on_progress(o->user, (double)(seek < content_frames ? seek : content_frames) /
                                  (double)content_frames);
  }
  return TW_OK;
}

static int check_inputs(const tw_logits_source *src, const tw_decode_tokens *ids,
                        const tw_token_text *text, const float *mel, int n_mels,
                        int64_t content_frames, const tw_loop_options *o, tw_errbuf *err) {
  if (!src || !ids || !text || !mel || !o)
    return tw_err(err, TW_EINVAL, "transcribe: missing source, ids, vocabulary, mel or options");
  int rc = tw_decode_tokens_check(ids, err);
  if (rc) return rc;
  if (n_mels <= 0 || n_mels != src->n_mels || src->n_vocab != ids->n_vocab)
    return tw_err(err, TW_EINVAL, "transcribe: %d mel bands / %d logits for a model of %d / %d",
                  n_mels, (int)ids->n_vocab, src->n_mels, (int)src->n_vocab);
  if (content_frames < 0 || content_frames > INT64_MAX / 2 / n_mels)
    return tw_err(err, TW_EINVAL, "transcribe: %lld content frames", (long long)content_frames);
  if (o->n_text_ctx < 16 || o->beam_size < 0 || o->beam_size > 64 || o->best_of < 0 ||
      o->best_of > 64 || o->max_tokens_per_window < 0 || o->n_initial_prompt < 0 ||
      (o->n_initial_prompt && !o->initial_prompt))
    return tw_err(err, TW_EINVAL, "transcribe: options out of range (beam %d, best_of %d, ctx %d)",
                  o->beam_size, o->best_of, o->n_text_ctx);
  for (int i = 0; i < o->n_initial_prompt; i++)
    if (o->initial_prompt[i] < 0 || o->initial_prompt[i] >= ids->n_vocab)
      return tw_err(err, TW_ERANGE, "transcribe: initial prompt token %d is not in the vocabulary",
                    (int)o->initial_prompt[i]);
  return TW_OK;
}

/* The language of the run: given, detected on the first window, or "en". */
static int resolve_language(loop *L, const float *mel, int n_mels, int64_t content_frames,
                            tw_transcript *out, double *language_probs, int *first_loaded,
                            tw_errbuf *err) {
  const tw_loop_options *o = L->opt;
  const tw_decode_tokens *ids = L->ids;
  *first_loaded = 0;
  if (!ids->multilingual) { /* OpenAI's English-only tokenizer has no language token */
    strcpy(out->language, "en");
    return TW_OK;
  }
  if (!o->language_codes)
    return tw_err(err, TW_EINVAL, "transcribe: a multilingual model needs the language codes");
  int best = -1;
  if (o->language && *o->language && strcmp(o->language, "auto") != 0) {
    for (int i = 0; i < ids->n_languages && best < 0; i++)
      if (o->language_codes[i] && !strcmp(o->language_codes[i], o->language)) best = i;
    if (best < 0) return tw_err(err, TW_EINVAL, "transcribe: unknown language \"%s\"", o->language);
  } else {
    double *probs = language_probs;
    if (!probs) probs = tw_malloc_aligned(sizeof(double) * (size_t)ids->n_languages);
    if (!probs) return tw_err(err, TW_ENOMEM, "transcribe: out of memory");
    int rc =
        tw_loop_detect_language(L->src, ids, mel, n_mels, content_frames, probs, &best, err);
    if (probs != language_probs) tw_free(probs);
    if (rc) return rc;
    *first_loaded = 1;
  }
  if (!o->language_codes[best] || strlen(o->language_codes[best]) >= sizeof out->language)
    return tw_err(err, TW_EINVAL, "transcribe: language %d has no usable code", best);
  strcpy(out->language, o->language_codes[best]);
  L->language_token = ids->lang_begin + best;
  return TW_OK;
}

int tw_loop_detect_language(const tw_logits_source *src, const tw_decode_tokens *ids,
                                  const float *mel, int n_mels, int64_t content_frames,
                                  double *probs, int *best, tw_errbuf *err) {
  if (!src || !ids || !mel || !probs || !best || n_mels != src->n_mels || content_frames < 0)
    return tw_err(err, TW_EINVAL, "detect language: bad arguments");
  int64_t total = content_frames + TW_WINDOW_FRAMES;
  float *w = tw_malloc_aligned(sizeof(float) * (size_t)n_mels * TW_WINDOW_FRAMES);
  if (!w) return tw_err(err, TW_ENOMEM, "detect language: out of memory");
  /* pad_or_trim(mel, 3000) of the padded log-mel: the first 3000 frames as
   * they are, padding included (not the 0.0 padding of the window loop). */
  for (int m = 0; m < n_mels; m++)
    memcpy(w + (size_t)m * TW_WINDOW_FRAMES, mel + (size_t)m * (size_t)total,
           sizeof(float) * TW_WINDOW_FRAMES);
  int rc = src->set_audio(src->self, w);
  tw_free(w);
  if (rc)
    return tw_err(err, rc < 0 ? rc : TW_EDEVICE, "encoder failed: %s",
                  src->last_error ? src->last_error(src->self) : tw_strerror(rc));
  return tw_window_detect_language(src, ids, probs, best, err);
}

static int build_filters(const tw_decode_tokens *ids, const tw_loop_options *o,
                         tw_logit_filters *f, int32_t **set, tw_errbuf *err) {
  memset(f, 0, sizeof *f);
  f->ids = *ids;
  int rc =
      tw_suppress_set_build(ids, o->suppress_tokens, o->n_suppress_tokens, o->non_speech_tokens,
                            o->n_non_speech_tokens, set, &f->n_suppress, err);
  if (rc) return rc;
  f->suppress = *set;
  f->suppress_blank = o->suppress_blank;
  f->timestamps = !o->without_timestamps;
  /* round(max_initial_timestamp / (CHUNK_LENGTH / n_audio_ctx)), half to even as Python. */
  f->max_initial_index = o->max_initial_timestamp > 0
                             ? (int)nearbyint(o->max_initial_timestamp / (30.0 / 1500.0))
                             : -1;
  f->min_tokens = o->max_tokens_per_window;
  return TW_OK;
}

int tw_transcribe_loop(const tw_logits_source *src, const tw_decode_tokens *ids,
                  const tw_token_text *text, const float *mel, int n_mels, int64_t content_frames,
                  const tw_loop_options *opt, tw_transcript *out, double *language_probs,
                  tw_errbuf *err) {
  if (!out) return tw_err(err, TW_EINVAL, "transcribe: NULL transcript");
  memset(out, 0, sizeof *out);
  int rc = check_inputs(src, ids, text, mel, n_mels, content_frames, opt, err);
  if (rc) return rc;
  loop L = {.src = src, .opt = opt, .ids = ids};
  L.n_temps = temperature_schedule(opt, L.temps);
  tw_tx tx = {
      .ids = ids, .text = text, .out = out, .on_segment = opt->on_segment, .user = opt->user};
  tw_logit_filters filters;
  int32_t *set = NULL;
  int group = opt->beam_size > opt->best_of ? opt->beam_size : opt->best_of, first_loaded = 0;
  rc = build_filters(ids, opt, &filters, &set, err);
  L.initial = tw_malloc_aligned(sizeof(int32_t) * (size_t)(opt->n_text_ctx / 2 + 4));
  L.window = tw_malloc_aligned(sizeof(float) * (size_t)n_mels * TW_WINDOW_FRAMES);
  if (!rc && (!L.initial || !L.window)) rc = tw_err(err, TW_ENOMEM, "transcribe: out of memory");
  if (!rc)
    rc =
        tw_window_decoder_create(src, &filters, text, opt->n_text_ctx, group > 1 ? group : 1, &L.dec, err);
  if (!rc) {
    tw_window_decoder_set_abort(L.dec, opt->should_abort, opt->user);
    rc = resolve_language(&L, mel, n_mels, content_frames, out, language_probs, &first_loaded, err);
  }
  if (!rc) {
    tx.n_initial_prompt = opt->n_initial_prompt;
    rc = tw__tx_push_tokens(&tx, opt->initial_prompt, opt->n_initial_prompt, err);
  }
  if (!rc) rc = run_windows(&L, &tx, mel, n_mels, content_frames, first_loaded, err);
  /* An aborted run still returns what was finished, with its text. */
  if (!rc || rc == TW_EABORTED) {
    tw_errbuf tmp;
    int rt = tw__tx_finish_text(&tx, &tmp);
    if (rt) rc = tw_err_forward(err, rt);
  }
  if (rc && rc != TW_EABORTED) tw_transcript_clear(out);
  tw__tx_free(&tx);
  tw_window_decoder_destroy(L.dec);
  tw_free(L.initial);
  tw_free(L.window);
  tw_free(set);
  return rc;
}

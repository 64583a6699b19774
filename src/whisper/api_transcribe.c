/* tw_transcribe: the public options turned into the decoding rules' own
 * (prompt text tokenized as OpenAI does, "-1" and the language resolved),
 * then the window loop over the state's log-mel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "whisper/api_internal.h"
#include "whisper/transcribe.h"

void tw_transcribe_options_init(tw_transcribe_options *o) {
  if (!o) return;
  tw_loop_options l;
  tw_loop_options_init(&l);
  memset(o, 0, sizeof *o);
  o->temperature = l.temperature;
  o->temperature_increment = l.temperature_increment;
  o->compression_ratio_threshold = l.compression_ratio_threshold;
  o->logprob_threshold = l.logprob_threshold;
  o->no_speech_threshold = l.no_speech_threshold;
  o->beam_size = l.beam_size;
  o->patience = l.patience;
  o->best_of = l.best_of;
  o->length_penalty = l.length_penalty;
  o->condition_on_previous_text = l.condition_on_previous_text;
  o->suppress_tokens = "-1";
  o->suppress_blank = l.suppress_blank;
  o->without_timestamps = l.without_timestamps;
  o->max_initial_timestamp = l.max_initial_timestamp;
}

/* "-1,220, 50257" -> ids; an empty string is an empty list (suppress
 * nothing, as OpenAI's empty suppress_tokens). */
static int parse_suppress(tw_state *s, const char *list, int32_t **out, int *n) {
  *out = NULL;
  *n = 0;
  if (!list) return TW_OK;
  size_t cap = 1;
  for (const char *p = list; *p; p++) cap += *p == ',';
  int32_t *ids = tw_calloc_aligned(cap, sizeof *ids);
  if (!ids) return tw_err(&s->err, TW_ENOMEM, "transcribe: out of memory");
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < -1 || v >= s->model->sp.n_vocab || (*end && *end != ',' && *end != ' ')) {
      tw_free(ids);
      return tw_err(&s->err, TW_EINVAL,
                    "transcribe: suppress_tokens '%s': '%.*s' is not -1 or a token id below %d",
                    list, (int)strcspn(p, ","), p, s->model->sp.n_vocab);
    }
    ids[(*n)++] = (int32_t)v;
    p = end;
  }
  *out = ids;
  return TW_OK;
}

/* OpenAI: tokenizer.encode(" " + initial_prompt.strip()). */
static int encode_prompt(tw_state *s, const char *text, int32_t **ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  if (!text) return TW_OK;
  size_t b, e, len = strlen(text);
  tw_utf8_strip(text, len, &b, &e);
  char *spaced = tw_malloc_aligned(e - b + 2);
  if (!spaced) return tw_err(&s->err, TW_ENOMEM, "transcribe: out of memory");
  spaced[0] = ' ';
  memcpy(spaced + 1, text + b, e - b);
  spaced[e - b + 1] = '\0';
  int rc = tw_tokenizer_encode(s->model->tok, spaced, e - b + 1, 0, ids, n, &s->err);
  tw_free(spaced);
  return rc;
}

int tw_transcribe(tw_state *s, const float *samples, size_t n_samples,
                  const tw_transcribe_options *opts, tw_transcript *out) {
  if (!s || !out) return tw_err(s ? &s->err : NULL, TW_EINVAL, "tw_transcribe: %s is NULL",
                                s ? "out" : "state");
  memset(out, 0, sizeof *out);
  memset(&s->run, 0, sizeof s->run);
  const double t_start = tw_now();
  int rc = tw_state_need_decoder(s, "tw_transcribe");
  if (rc) return rc;
  tw_transcribe_options defaults;
  tw_transcribe_options_init(&defaults);
  if (!opts) opts = &defaults;
  tw_model *m = s->model;
  tw_loop_options l;
  tw_loop_options_init(&l);
  if (opts->language && *opts->language && strcmp(opts->language, "auto") != 0) {
    int li = tw_language_index(opts->language);
    if (li < 0 || (m->sp.multilingual && li >= m->sp.n_languages))
      return tw_err(&s->err, TW_EINVAL, "transcribe: unknown language '%s' for this model",
                    opts->language);
    l.language = tw_language_code(li);
  }
  l.language_codes = m->language_codes;
  l.translate = opts->translate;
  l.temperature = opts->temperature;
  l.temperature_increment = opts->temperature_increment;
  l.compression_ratio_threshold = opts->compression_ratio_threshold;
  l.logprob_threshold = opts->logprob_threshold;
  l.no_speech_threshold = opts->no_speech_threshold;
  l.beam_size = opts->beam_size;
  l.patience = opts->patience;
  l.best_of = opts->best_of;
  l.length_penalty = opts->length_penalty;
  l.condition_on_previous_text = opts->condition_on_previous_text;
  l.suppress_blank = opts->suppress_blank;
  l.without_timestamps = opts->without_timestamps;
  l.max_initial_timestamp = opts->max_initial_timestamp;
  l.seed = opts->seed;
  l.max_tokens_per_window = opts->max_tokens_per_window;
  l.n_text_ctx = m->file->hp.n_text_ctx;
  l.non_speech_tokens = m->non_speech;
  l.n_non_speech_tokens = m->n_non_speech;
  l.on_segment = opts->on_segment;
  l.on_progress = opts->on_progress;
  l.should_abort = opts->should_abort;
  l.user = opts->user;
  int32_t *suppress = NULL, *prompt = NULL;
  size_t n_prompt = 0;
  int n_suppress = 0;
  if ((rc = parse_suppress(s, opts->suppress_tokens, &suppress, &n_suppress)) ||
      (rc = encode_prompt(s, opts->initial_prompt, &prompt, &n_prompt)))
    goto out;
  l.suppress_tokens = suppress;
  l.n_suppress_tokens = n_suppress;
  l.initial_prompt = prompt;
  l.n_initial_prompt = (int)n_prompt;
  double t_mel = tw_now();
  if ((rc = tw_state_set_pcm(s, samples, n_samples, NULL))) goto out;
  s->run.mel_s = tw_now() - t_mel;
  rc = tw_transcribe_loop(&s->src, &m->ids, &m->text, s->mel, m->file->n_mel,
                          (int64_t)s->content_frames, &l, out, NULL, &s->err);
out:
  tw_free(suppress);
  tw_free(prompt);
  s->run.total_s = tw_now() - t_start;
  return rc;
}

int tw_state_transcribe_stats(const tw_state *s, tw_transcribe_stats *out) {
  if (!s || !out)
    return tw_err(NULL, TW_EINVAL, "tw_state_transcribe_stats: %s is NULL", s ? "out" : "state");
  *out = s->run;
  return TW_OK;
}

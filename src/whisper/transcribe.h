/* Long audio as OpenAI's whisper.transcribe() does it: 30 s windows over the
 * log-mel, each decoded with temperature fallback, cut into segments at
 * timestamp pairs, the next window starting at the last closed timestamp,
 * the previous text fed back as the prompt.
 *
 * Everything model-specific comes in through a tw_logits_source (the
 * decoder), a tw_decode_tokens (special ids) and a tw_token_text (token
 * bytes), so the rules run and are tested without a model. */
#ifndef TW_WHISPER_TRANSCRIBE_H
#define TW_WHISPER_TRANSCRIBE_H

#include <stdint.h>

#include "core/error.h"
#include "whisper/logit_filters.h"
#include "whisper/logits_source.h"
#include "whisper/token_text.h"
#include "whisper/transcript.h"

/* Frames of one window (30 s of 10 ms frames) and the zero padding the
 * log-mel must be computed with (OpenAI: log_mel_spectrogram(padding=N_SAMPLES)). */
#define TW_WINDOW_FRAMES 3000

typedef struct tw_loop_options {
  /* Language and task. */
  const char *language;              /* "en", "de", ...; NULL or "auto": detected on the first
                                        window (multilingual models); English-only models
                                        always use "en" */
  const char *const *language_codes; /* n_languages codes in language-token order;
                                        needed by multilingual models only */
  int translate;                     /* 0: transcribe, 1: translate to English */

  /* Temperature fallback: start, start + inc, ... up to 1.0 (np.arange(T, 1.0 + 1e-6,
   * inc)); inc <= 0: only the start temperature. */
  double temperature;                 /* 0.0 */
  double temperature_increment;       /* 0.2 */
  double compression_ratio_threshold; /* 2.4; NAN: not checked */
  double logprob_threshold;           /* -1.0; NAN: not checked */
  double no_speech_threshold;         /* 0.6; NAN: no window is skipped */

  /* Search. */
  int beam_size;         /* at T = 0; 0: greedy (the API's default; the CLI uses 5) */
  double patience;       /* beam search; 0: 1.0 */
  int best_of;           /* samples at T > 0; 5 */
  double length_penalty; /* NAN: length normalisation; else alpha in [0, 1] */

  /* Prompt and filters. */
  int condition_on_previous_text; /* 1 */
  const int32_t *initial_prompt;  /* encode(" " + text.strip()), already tokenized; may be NULL */
  int n_initial_prompt;
  const int32_t *suppress_tokens; /* OpenAI's "-1": {-1}; -1 stands for non_speech_tokens */
  int n_suppress_tokens;
  const int32_t *non_speech_tokens; /* the tokenizer's non-speech set */
  int n_non_speech_tokens;
  int suppress_blank;           /* 1 */
  int without_timestamps;       /* 0 */
  double max_initial_timestamp; /* 1.0 s; <= 0: no limit */

  /* Reproducibility and budget. */
  uint64_t seed; /* sampling at T > 0: attempt k of the window at frame `seek` draws from
                    xoshiro256** seeded with mix(seed ^ mix(seek << 8 | k)), mix = splitmix64's
                    finaliser, so a run is reproducible and windows are independent */
  int max_tokens_per_window; /* benchmarks: > 0 forbids EOT until that many tokens and stops
                                there, so every window costs the same; 0: off (OpenAI) */
  int n_text_ctx;            /* the model's text context, 448 */

  /* Callbacks (each may be NULL), all given `user`. */
  void (*on_segment)(void *user, const tw_segment *seg); /* each segment once final */
  void (*on_progress)(void *user, double fraction);      /* after each window, 0..1 */
  int (*should_abort)(void *user); /* nonzero: stop; polled before every decoder call */
  void *user;
} tw_loop_options;

/* OpenAI's transcribe() defaults (see each field). */
void tw_loop_options_init(tw_loop_options *o);

/* Transcribes `mel` = [n_mels][content_frames + TW_WINDOW_FRAMES] row-major,
 * the log-mel of the audio followed by 30 s of zeros, into *out (overwritten;
 * pass it zeroed or cleared). language_probs (NULL or ids->n_languages
 * entries) receives the detected language's distribution when detection ran.
 * On TW_EABORTED *out holds the segments finished before the abort; on any
 * other error it is cleared. */
int tw_transcribe_loop(const tw_logits_source *src, const tw_decode_tokens *ids,
                  const tw_token_text *text, const float *mel, int n_mels, int64_t content_frames,
                  const tw_loop_options *opt, tw_transcript *out, double *language_probs,
                  tw_errbuf *err);

/* OpenAI's detect_language on the first 30 s (the padded log-mel as is):
 * probs[ids->n_languages], the argmax in *best. */
int tw_loop_detect_language(const tw_logits_source *src, const tw_decode_tokens *ids,
                                  const float *mel, int n_mels, int64_t content_frames,
                                  double *probs, int *best, tw_errbuf *err);

#endif

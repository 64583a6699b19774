/* One 30 s window decoded as OpenAI's DecodingTask.run() does it, against a
 * tw_logits_source: the initial tokens ([<|startofprev|> + prompt] + SOT
 * sequence) are prefilled once, the cache is fanned out to the group, and
 * tokens are chosen by greedy argmax (T = 0), best-of-N sampling (T > 0) or
 * beam search (beam_size > 0), with OpenAI's logit filters, until every
 * sequence has ended or the budget is spent. The best candidate is picked by
 * OpenAI's MaximumLikelihoodRanker.
 *
 * The window's audio must already be set on the source (set_audio). */
#ifndef TW_WHISPER_DECODING_H
#define TW_WHISPER_DECODING_H

#include <stdint.h>

#include "core/error.h"
#include "whisper/logit_filters.h"
#include "whisper/logits_source.h"
#include "whisper/token_text.h"

typedef struct tw_decode_options {
  double temperature;    /* 0: argmax; > 0: sample from softmax(logits / T) */
  int beam_size;         /* > 0: beam search (temperature must be 0); 0: greedy/sampling */
  double patience;       /* beam search: max_candidates = round(beam_size * patience);
                            <= 0 means OpenAI's default 1.0 */
  int best_of;           /* T > 0: independent samples ranked; 0/1: one. Must be <= 1 at T = 0 */
  double length_penalty; /* NAN: rank by sum_logprob / length; else alpha in [0, 1]:
                            sum_logprob / ((5 + length) / 6)^alpha */
  int sample_len;        /* most tokens sampled; 0: n_text_ctx / 2 (224) */
  uint64_t seed;         /* sampler seed of this attempt (sampling only) */
} tw_decode_options;

/* OpenAI's defaults for one window: T 0, greedy, length normalisation. */
void tw_decode_options_init(tw_decode_options *o);

typedef struct tw_decode_result {
  const int32_t *tokens; /* sampled tokens before EOT, timestamps included */
  const float *probs;    /* probability of each when chosen: exp(log_softmax(filtered logits)) */
  int n_tokens;
  const char *text;      /* decode(tokens).strip(), NUL-terminated UTF-8 */
  double sum_logprob;    /* of the tokens and the EOT (if sampled), float32 as OpenAI sums */
  double avg_logprob;    /* sum_logprob / (n_tokens + 1) */
  double no_speech_prob; /* softmax(unfiltered logits at SOT)[<|nospeech|>] */
  double temperature;
  double compression_ratio; /* of text */
} tw_decode_result;         /* arrays and text are owned by the decoder until its next decode */

typedef struct tw_window_decoder tw_window_decoder;

/* Caller-owned callback between decoding steps: nonzero aborts the window. */
typedef int (*tw_abort_fn)(void *user);

/* A decoder for groups of up to max_group sequences (max of beam_size and
 * best_of) over contexts of n_text_ctx tokens. src, filters (with its
 * suppress array) and text must outlive the decoder. All buffers are
 * allocated here, none while decoding. */
int tw_window_decoder_create(const tw_logits_source *src, const tw_logit_filters *filters,
                      const tw_token_text *text, int n_text_ctx, int max_group, tw_window_decoder **out,
                      tw_errbuf *err);
void tw_window_decoder_destroy(tw_window_decoder *d);

/* abort (may be NULL) is polled before every decoder call. */
void tw_window_decoder_set_abort(tw_window_decoder *d, tw_abort_fn abort_fn, void *user);

/* OpenAI's _get_initial_tokens: [<|startofprev|>, last n_text_ctx/2 - 1 of
 * prompt] (when n_prompt > 0) + sot_sequence, where sot_sequence is [sot,
 * language, task] on multilingual models and [sot] on English-only ones, plus
 * <|notimestamps|> when without_timestamps. out must hold n_text_ctx/2 + 4
 * ids; *sot_index is where <|startoftranscript|> landed. */
int tw_initial_tokens(const tw_decode_tokens *ids, int32_t language_token, int translate,
                      int without_timestamps, const int32_t *prompt, int n_prompt, int n_text_ctx,
                      int32_t *out, int *n_out, int *sot_index, tw_errbuf *err);

/* Decodes one window from the given initial tokens. TW_EABORTED when the
 * abort callback asked for it. */
int tw_decode_window(tw_window_decoder *d, const tw_decode_options *opt, const int32_t *initial,
                     int n_initial, int sot_index, tw_decode_result *res, tw_errbuf *err);

/* Language identification as OpenAI's detect_language: one decoder pass over
 * [<|startoftranscript|>] (n_past 0), every non-language logit -inf, softmax.
 * probs[ids->n_languages] receives each language's probability, *best the
 * argmax. The audio must be set on the source. */
int tw_window_detect_language(const tw_logits_source *src, const tw_decode_tokens *ids, double *probs,
                       int *best, tw_errbuf *err);

#endif

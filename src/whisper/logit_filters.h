/* OpenAI's logit filters (whisper/decoding.py), applied in its order to one
 * sequence's next-token logits before a token is chosen:
 *   1. SuppressBlank        " " and EOT at the first sampled step;
 *   2. SuppressTokens       a fixed id set (non-speech symbols + specials);
 *   3. ApplyTimestampRules  the five timestamp rules;
 * and, for benchmarks only, a token budget that forbids EOT early.
 * "Suppress" means logit = -inf. */
#ifndef TW_WHISPER_LOGIT_FILTERS_H
#define TW_WHISPER_LOGIT_FILTERS_H

#include <stdint.h>

#include "core/error.h"

/* The token ids the decoding rules use (filled from the tokenizer's
 * tw_special_tokens; kept separate so the rules need no tokenizer). */
typedef struct tw_decode_tokens {
  int32_t n_vocab;
  int multilingual;
  int32_t eot, sot, sot_prev, sot_lm, no_speech, no_timestamps, transcribe, translate;
  int32_t timestamp_begin; /* <|0.00|> */
  int32_t lang_begin;      /* first language token */
  int32_t n_languages;
  int32_t blank; /* encode(" ")[0]: 220 in both Whisper vocabularies */
} tw_decode_tokens;

/* Checks that the ids are ordered as in every Whisper vocabulary
 * (text < eot < sot < ... < timestamp_begin < n_vocab). */
int tw_decode_tokens_check(const tw_decode_tokens *ids, tw_errbuf *err);

typedef struct tw_logit_filters {
  tw_decode_tokens ids;
  int suppress_blank;
  const int32_t *suppress; /* sorted unique ids (tw_suppress_set_build); may be NULL */
  int n_suppress;
  int timestamps;        /* apply the timestamp rules (not without_timestamps) */
  int max_initial_index; /* last allowed first timestamp - timestamp_begin; < 0: no limit */
  int min_tokens;        /* EOT forbidden while fewer tokens are sampled; 0: off */
} tw_logit_filters;

/* OpenAI's _get_suppress_tokens: the ids in `user` (an entry -1 stands for
 * the whole non_speech set) plus transcribe, translate, sot, sot_prev, sot_lm
 * and no_speech; sorted, duplicates removed, into *out (tw_free). An empty
 * `user` list means "suppress nothing", not even the specials, as OpenAI's
 * `if self.options.suppress_tokens:` does. Ids outside the vocabulary are
 * TW_ERANGE. */
int tw_suppress_set_build(const tw_decode_tokens *ids, const int32_t *user, int n_user,
                          const int32_t *non_speech, int n_non_speech, int32_t **out, int *n_out,
                          tw_errbuf *err);

/* The filters one by one; `sampled` are the n_sampled tokens chosen so far in
 * this window (after the prompt and SOT sequence). */
void tw_filter_suppress_blank(const tw_decode_tokens *ids, float *logits, int n_sampled);
void tw_filter_suppress_tokens(const int32_t *set, int n_set, float *logits);
void tw_filter_timestamp_rules(const tw_decode_tokens *ids, int max_initial_index, float *logits,
                               const int32_t *sampled, int n_sampled);

/* All enabled filters in OpenAI's order, then the token budget. */
void tw_logit_filters_apply(const tw_logit_filters *f, float *logits, const int32_t *sampled,
                            int n_sampled);

#endif

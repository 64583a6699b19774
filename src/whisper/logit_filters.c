#include "whisper/logit_filters.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

int tw_decode_tokens_check(const tw_decode_tokens *t, tw_errbuf *err) {
  if (!t) return tw_err(err, TW_EINVAL, "decode tokens: NULL");
  int ok = t->blank >= 0 && t->blank < t->eot && t->eot < t->sot && t->sot < t->timestamp_begin &&
           t->timestamp_begin < t->n_vocab && t->no_timestamps < t->timestamp_begin &&
           t->no_timestamps > t->sot;
  const int32_t specials[] = {t->sot_prev, t->sot_lm, t->no_speech, t->transcribe, t->translate};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
    ok = ok && specials[i] > t->sot && specials[i] < t->timestamp_begin;
  if (t->multilingual)
    ok = ok && t->n_languages > 0 && t->lang_begin > t->sot &&
         t->lang_begin + t->n_languages <= t->timestamp_begin;
  if (!ok)
    return tw_err(err, TW_EINVAL,
                  "decode tokens: ids out of Whisper's order (n_vocab %d, eot %d, sot %d, "
                  "timestamp_begin %d)",
                  (int)t->n_vocab, (int)t->eot, (int)t->sot, (int)t->timestamp_begin);
  return TW_OK;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int tw_suppress_set_build(const tw_decode_tokens *ids, const int32_t *user, int n_user,
                          const int32_t *non_speech, int n_non_speech, int32_t **out, int *n_out,
                          tw_errbuf *err) {
  *out = NULL;
  *n_out = 0;
  if (n_user < 0 || n_non_speech < 0 || (n_user && !user) || (n_non_speech && !non_speech))
    return tw_err(err, TW_EINVAL, "suppress tokens: bad list");
  if (n_user == 0) return TW_OK;
  int expand = 0;
  for (int i = 0; i < n_user; i++) {
    if (user[i] == -1) {
      expand = 1;
    } else if (user[i] < 0 || user[i] >= ids->n_vocab) {
      return tw_err(err, TW_ERANGE, "suppress tokens: id %d is outside the vocabulary (0..%d)",
                    (int)user[i], (int)ids->n_vocab - 1);
    }
  }
  for (int i = 0; expand && i < n_non_speech; i++)
    if (non_speech[i] < 0 || non_speech[i] >= ids->n_vocab)
      return tw_err(err, TW_ERANGE, "suppress tokens: non-speech id %d is outside the vocabulary",
                    (int)non_speech[i]);
  const int32_t specials[] = {ids->transcribe, ids->translate, ids->sot,
                              ids->sot_prev,   ids->sot_lm,    ids->no_speech};
  int n_spec = (int)(sizeof specials / sizeof specials[0]);
  int32_t *set =
      tw_malloc_aligned(sizeof(int32_t) * ((size_t)n_user + (size_t)n_non_speech + (size_t)n_spec));
  if (!set) return tw_err(err, TW_ENOMEM, "suppress tokens: out of memory");
  int n = 0;
  for (int i = 0; i < n_user; i++)
    if (user[i] >= 0) set[n++] = user[i];
  for (int i = 0; expand && i < n_non_speech; i++) set[n++] = non_speech[i];
  for (int i = 0; i < n_spec; i++) set[n++] = specials[i];
  qsort(set, (size_t)n, sizeof *set, cmp_i32);
  int u = 0;
  for (int i = 0; i < n; i++)
    if (u == 0 || set[u - 1] != set[i]) set[u++] = set[i];
  *out = set;
  *n_out = u;
  return TW_OK;
}

void tw_filter_suppress_blank(const tw_decode_tokens *ids, float *logits, int n_sampled) {
  if (n_sampled != 0) return;
  logits[ids->blank] = -INFINITY;
  logits[ids->eot] = -INFINITY;
}

void tw_filter_suppress_tokens(const int32_t *set, int n_set, float *logits) {
  for (int i = 0; i < n_set; i++) logits[set[i]] = -INFINITY;
}

static void mask_range(float *logits, int32_t from, int32_t to) {
  for (int32_t i = from; i < to; i++) logits[i] = -INFINITY;
}

/* Rule e compares logsumexp(logprobs[tb:]) with max(logprobs[:tb]). Both sides
 * are logits minus the same log-normaliser, so the comparison is done on the
 * logits themselves: that removes one rounding step, and the sum runs in
 * double. (OpenAI does it in float32 after log_softmax; the two can only
 * disagree when the sides are within a few float ulps of each other.) */
static int timestamp_mass_wins(const float *logits, int32_t tb, int32_t n_vocab) {
  double max_text = -INFINITY, max_ts = -INFINITY;
  for (int32_t i = 0; i < tb; i++) max_text = logits[i] > max_text ? logits[i] : max_text;
  for (int32_t i = tb; i < n_vocab; i++) max_ts = logits[i] > max_ts ? logits[i] : max_ts;
  if (max_ts == -INFINITY) return 0; /* no timestamp left: mass 0 never wins */
  double sum = 0;
  for (int32_t i = tb; i < n_vocab; i++) sum += exp((double)logits[i] - max_ts);
  return max_ts + log(sum) > max_text;
}

void tw_filter_timestamp_rules(const tw_decode_tokens *ids, int max_initial_index, float *logits,
                               const int32_t *sampled, int n_sampled) {
  const int32_t tb = ids->timestamp_begin;
  /* a) <|notimestamps|> is what without_timestamps selects, never sampled. */
  logits[ids->no_timestamps] = -INFINITY;

  /* b) Timestamps come in pairs (start, end), except directly before EOT. */
  int last_ts = n_sampled >= 1 && sampled[n_sampled - 1] >= tb;
  int penult_ts = n_sampled < 2 || sampled[n_sampled - 2] >= tb;
  if (last_ts) {
    if (penult_ts)
      mask_range(logits, tb, ids->n_vocab); /* a pair just closed: text or EOT next */
    else
      mask_range(logits, 0, ids->eot); /* an end timestamp or EOT next, no text */
  }

  /* c) Timestamps never decrease, and a segment's end is after its start. */
  int32_t last_seen = -1;
  for (int i = n_sampled - 1; i >= 0 && last_seen < 0; i--)
    if (sampled[i] >= tb) last_seen = sampled[i];
  if (last_seen >= 0) mask_range(logits, tb, (last_ts && !penult_ts) ? last_seen : last_seen + 1);

  /* d) The window starts with a timestamp no later than max_initial_timestamp. */
  if (n_sampled == 0) {
    mask_range(logits, 0, tb);
    if (max_initial_index >= 0 && (int64_t)tb + max_initial_index + 1 < ids->n_vocab)
      mask_range(logits, tb + max_initial_index + 1, ids->n_vocab);
  }

  /* e) When all timestamps together are likelier than any single text token,
   *    a timestamp it is. */
  if (timestamp_mass_wins(logits, tb, ids->n_vocab)) mask_range(logits, 0, tb);
}

void tw_logit_filters_apply(const tw_logit_filters *f, float *logits, const int32_t *sampled,
                            int n_sampled) {
  if (f->suppress_blank) tw_filter_suppress_blank(&f->ids, logits, n_sampled);
  if (f->n_suppress > 0) tw_filter_suppress_tokens(f->suppress, f->n_suppress, logits);
  if (f->timestamps)
    tw_filter_timestamp_rules(&f->ids, f->max_initial_index, logits, sampled, n_sampled);
  /* Benchmark budget: a window never ends before min_tokens, so a model with
   * random weights decodes the same amount of work every run. */
  if (f->min_tokens > 0 && n_sampled < f->min_tokens) logits[f->ids.eot] = -INFINITY;
}

/* Cutting one window's tokens into segments, as transcribe() does after a
 * window is decoded:
 *   - two timestamps in a row close a segment; each slice between such pairs
 *     is one segment from its first to its last timestamp;
 *   - a lone timestamp before EOT (single_timestamp_ending) means no speech
 *     after it: the tail is a segment too and the whole window is consumed;
 *   - otherwise the next window starts at the last closed timestamp and the
 *     unfinished tail is decoded again;
 *   - without any pair, the window is one segment ending at its last
 *     timestamp (or the window's end).
 * Segments of zero length or blank text keep their slot with no text. */
#include <string.h>

#include "core/mem.h"
#include "whisper/transcribe_impl.h"

/* Seconds per mel frame and per timestamp token, computed as Python does
 * (HOP_LENGTH / SAMPLE_RATE and input_stride * HOP_LENGTH / SAMPLE_RATE), so
 * start and end match OpenAI's floats bit for bit. */
#define TIME_PRECISION (320.0 / 16000.0)

int tw__tx_push_tokens(tw_tx *tx, const int32_t *tokens, int n, tw_errbuf *err) {
  if (n <= 0) return TW_OK;
  if (tx->n_all + n > tx->cap_all) {
    int cap = tx->cap_all ? tx->cap_all : 256;
    while (cap < tx->n_all + n) cap *= 2;
    int32_t *p = tw_malloc_aligned(sizeof(int32_t) * (size_t)cap);
    if (!p) return tw_err(err, TW_ENOMEM, "transcribe: out of memory for %d tokens", cap);
    if (tx->n_all) memcpy(p, tx->all_tokens, sizeof(int32_t) * (size_t)tx->n_all);
    tw_free(tx->all_tokens);
    tx->all_tokens = p;
    tx->cap_all = cap;
  }
  memcpy(tx->all_tokens + tx->n_all, tokens, sizeof(int32_t) * (size_t)n);
  tx->n_all += n;
  return TW_OK;
}

static int grow_segments(tw_transcript *t, tw_errbuf *err) {
  if (t->n_segments < t->cap_segments) return TW_OK;
  int cap = t->cap_segments ? 2 * t->cap_segments : 16;
  tw_segment *s = tw_calloc_aligned((size_t)cap, sizeof *s);
  if (!s) return tw_err(err, TW_ENOMEM, "transcribe: out of memory for %d segments", cap);
  if (t->n_segments) memcpy(s, t->segments, sizeof *s * (size_t)t->n_segments);
  tw_free(t->segments);
  t->segments = s;
  t->cap_segments = cap;
  return TW_OK;
}

/* Appends the segment of tokens r->tokens[a..b) spanning [start, end]. */
static int add_segment(tw_tx *tx, const tw_decode_result *r, int a, int b, int64_t seek,
                       double start, double end, tw_errbuf *err) {
  int rc = grow_segments(tx->out, err);
  if (rc) return rc;
  char *text;
  size_t len, sb, se;
  rc = tw_tokens_text(tx->text, r->tokens + a, b - a, tx->ids->eot, &text, &len, err);
  if (rc) return rc;
  tw_utf8_strip(text, len, &sb, &se);
  int n = b - a;
  if (start == end || sb == se) { /* instantaneous or blank: cleared */
    text[0] = '\0';
    n = 0;
  }
  tw_token_info *info = tw_calloc_aligned(n > 0 ? (size_t)n : 1, sizeof *info);
  if (!info) {
    tw_free(text);
    return tw_err(err, TW_ENOMEM, "transcribe: out of memory for a segment");
  }
  for (int i = 0; i < n; i++) {
    int32_t id = r->tokens[a + i];
    info[i].id = id;
    info[i].prob = r->probs[a + i];
    info[i].bytes =
        id < tx->ids->eot ? tx->text->bytes(tx->text->self, id, &info[i].n_bytes) : NULL;
    if (!info[i].bytes) info[i].n_bytes = 0;
  }
  tw_transcript *t = tx->out;
  tw_segment *s = &t->segments[t->n_segments];
  memset(s, 0, sizeof *s);
  s->id = t->n_segments;
  s->seek = seek;
  s->start = start;
  s->end = end;
  s->text = text;
  s->tokens = info;
  s->n_tokens = n;
  s->temperature = r->temperature;
  s->avg_logprob = r->avg_logprob;
  s->compression_ratio = r->compression_ratio;
  s->no_speech_prob = r->no_speech_prob;
  t->n_segments++;
  for (int i = 0; i < n; i++) {
    rc = tw__tx_push_tokens(tx, &info[i].id, 1, err);
    if (rc) return rc;
  }
  return TW_OK;
}

/* Segments of a window with at least one pair of consecutive timestamps. */
static int add_sliced(tw_tx *tx, const tw_decode_result *r, int64_t *seek, int64_t segment_size,
                      double time_offset, tw_errbuf *err) {
  const int32_t tb = tx->ids->timestamp_begin, *tok = r->tokens;
  const int n = r->n_tokens;
  int single_ending = n >= 2 && tok[n - 2] < tb && tok[n - 1] >= tb;
  int last = 0, rc;
  for (int cur = 1; cur <= n; cur++) {
    int pair = cur < n && tok[cur - 1] >= tb && tok[cur] >= tb;
    if (!pair && !(cur == n && single_ending)) continue;
    rc = add_segment(tx, r, last, cur, *seek, time_offset + (tok[last] - tb) * TIME_PRECISION,
                     time_offset + (tok[cur - 1] - tb) * TIME_PRECISION, err);
    if (rc) return rc;
    last = cur;
  }
  if (single_ending)
    *seek += segment_size;
  else /* the last closed timestamp: slices end right after a pair's first half */
    *seek += (int64_t)(tok[last - 1] - tb) * 2;
  return TW_OK;
}

int tw__tx_add_window(tw_tx *tx, const tw_decode_result *r, int64_t *seek, int64_t segment_size,
                      tw_errbuf *err) {
  const int32_t tb = tx->ids->timestamp_begin;
  const int64_t window_seek = *seek;
  const double time_offset = (double)(window_seek * 160) / 16000.0;
  const int first_new = tx->out->n_segments;
  int has_pair = 0, last_ts = -1, rc;
  for (int i = 0; i < r->n_tokens; i++) {
    if (r->tokens[i] >= tb) last_ts = i;
    if (i > 0 && r->tokens[i - 1] >= tb && r->tokens[i] >= tb) has_pair = 1;
  }
  if (has_pair) {
    rc = add_sliced(tx, r, seek, segment_size, time_offset, err);
  } else {
    double duration = (double)(segment_size * 160) / 16000.0;
    if (last_ts >= 0 && r->tokens[last_ts] != tb)
      duration = (r->tokens[last_ts] - tb) * TIME_PRECISION;
    rc = add_segment(tx, r, 0, r->n_tokens, window_seek, time_offset, time_offset + duration, err);
    *seek += segment_size;
  }
  if (rc) return rc;
  for (int i = first_new; tx->on_segment && i < tx->out->n_segments; i++)
    tx->on_segment(tx->user, &tx->out->segments[i]);
  return TW_OK;
}

int tw__tx_finish_text(tw_tx *tx, tw_errbuf *err) {
  char *text;
  size_t len;
  int start = tx->n_initial_prompt < tx->n_all ? tx->n_initial_prompt : tx->n_all;
  int rc = tw_tokens_text(tx->text, tx->all_tokens + start, tx->n_all - start, tx->ids->eot, &text,
                          &len, err);
  if (rc) return rc;
  tw_free(tx->out->text);
  tx->out->text = text;
  return TW_OK;
}

void tw__tx_free(tw_tx *tx) {
  tw_free(tx->all_tokens);
  tx->all_tokens = NULL;
  tx->n_all = tx->cap_all = 0;
}

#include "whisper/decoding.h"

#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "core/threadpool.h"
#include "whisper/compression.h"
#include "whisper/decoding_impl.h"
#include "whisper/ops.h"

void tw_decode_options_init(tw_decode_options *o) {
  memset(o, 0, sizeof *o);
  o->length_penalty = NAN;
}

static int seqs_alloc(tw_seq *s, int n, int cap) {
  for (int i = 0; i < n; i++) {
    s[i].tok = tw_malloc_aligned(sizeof(int32_t) * (size_t)cap);
    s[i].lp = tw_malloc_aligned(sizeof(float) * (size_t)cap);
    if (!s[i].tok || !s[i].lp) return -1;
  }
  return 0;
}

static void seqs_free(tw_seq *s, int n) {
  for (int i = 0; s && i < n; i++) {
    tw_free(s[i].tok);
    tw_free(s[i].lp);
  }
  tw_free(s);
}

void tw_window_decoder_destroy(tw_window_decoder *d) {
  if (!d) return;
  tw_free(d->prefill);
  tw_free(d->logits);
  tw_free(d->weights);
  tw_free(d->step_tok);
  tw_free(d->src_idx);
  tw_free(d->active);
  seqs_free(d->seqs, d->max_group);
  seqs_free(d->next, d->max_group);
  seqs_free(d->finished, d->n_finished_cap);
  tw_free(d->cand);
  tw_free(d->res_tok);
  tw_free(d->res_prob);
  tw_free(d->text);
  tw_free(d);
}

/* Room for the finished beams of one search: round(beam_size * patience)
 * candidates, or beam_size when finalize tops up. Grown before a window's
 * first step, never during it. */
static int ensure_finished(tw_window_decoder *d, int n) {
  if (n <= d->n_finished_cap) return 0;
  tw_seq *f = tw_calloc_aligned((size_t)n, sizeof *f);
  if (!f || seqs_alloc(f, n, d->cap)) {
    seqs_free(f, n);
    return -1;
  }
  seqs_free(d->finished, d->n_finished_cap);
  d->finished = f;
  d->n_finished_cap = n;
  return 0;
}

int tw_window_decoder_create(const tw_logits_source *src, const tw_logit_filters *filters,
                      const tw_token_text *text, int n_text_ctx, int max_group, tw_window_decoder **out,
                      tw_errbuf *err) {
  *out = NULL;
  if (!src || !src->decode || !src->reorder || !src->set_audio || !filters || !text)
    return tw_err(err, TW_EINVAL, "decoder: missing logits source, filters or vocabulary");
  if (n_text_ctx < 8 || max_group < 1 || max_group > 64)
    return tw_err(err, TW_EINVAL, "decoder: n_text_ctx %d / group %d out of range", n_text_ctx,
                  max_group);
  if (src->n_vocab != filters->ids.n_vocab)
    return tw_err(err, TW_EINVAL, "decoder: the source has %d logits, the vocabulary %d ids",
                  (int)src->n_vocab, (int)filters->ids.n_vocab);
  int rc = tw_decode_tokens_check(&filters->ids, err);
  if (rc) return rc;
  tw_window_decoder *d = tw_calloc_aligned(1, sizeof *d);
  if (!d) return tw_err(err, TW_ENOMEM, "decoder: out of memory");
  d->src = src;
  d->filters = filters;
  d->text_src = text;
  d->n_ctx = n_text_ctx;
  d->max_group = max_group;
  d->n_vocab = src->n_vocab;
  d->cap = n_text_ctx + 1;
  size_t v = (size_t)d->n_vocab, g = (size_t)max_group;
  d->prefill = tw_malloc_aligned(sizeof(float) * v * TW_PREFILL_ROWS);
  d->logits = tw_malloc_aligned(sizeof(float) * v * g);
  /* a row of sampling weights per thread that chooses (decoding_greedy.c) */
  const size_t wrows = src->pool ? (size_t)tw_threadpool_size(src->pool) : 1;
  d->weight_rows = (int)(wrows < g ? wrows : g);
  d->weights = tw_malloc_aligned(sizeof(double) * v * (size_t)d->weight_rows);
  d->step_tok = tw_malloc_aligned(sizeof(int32_t) * g);
  d->src_idx = tw_malloc_aligned(sizeof(int) * g);
  d->active = tw_malloc_aligned(sizeof(int) * g);
  d->seqs = tw_calloc_aligned(g, sizeof(tw_seq));
  d->next = tw_calloc_aligned(g, sizeof(tw_seq));
  d->cand = tw_malloc_aligned(sizeof(tw_cand) * g * (g + 1));
  d->res_tok = tw_malloc_aligned(sizeof(int32_t) * (size_t)d->cap);
  d->res_prob = tw_malloc_aligned(sizeof(float) * (size_t)d->cap);
  if (!d->prefill || !d->logits || !d->weights || !d->step_tok || !d->src_idx || !d->active ||
      !d->seqs || !d->next || !d->cand || !d->res_tok || !d->res_prob ||
      seqs_alloc(d->seqs, max_group, d->cap) || seqs_alloc(d->next, max_group, d->cap) ||
      ensure_finished(d, max_group)) {
    tw_window_decoder_destroy(d);
    return tw_err(err, TW_ENOMEM, "decoder: out of memory for %d sequences", max_group);
  }
  *out = d;
  return TW_OK;
}

void tw_window_decoder_set_abort(tw_window_decoder *d, tw_abort_fn abort_fn, void *user) {
  d->abort_fn = abort_fn;
  d->abort_user = user;
}

static int source_failed(tw_window_decoder *d, int rc, const char *what, tw_errbuf *err) {
  const char *msg = d->src->last_error ? d->src->last_error(d->src->self) : NULL;
  return tw_err(err, rc < 0 ? rc : TW_EDEVICE, "decoder %s failed: %s", what,
                msg && *msg ? msg : tw_strerror(rc));
}

static int check_abort(tw_window_decoder *d, tw_errbuf *err) {
  if (d->abort_fn && d->abort_fn(d->abort_user))
    return tw_err(err, TW_EABORTED, "transcription aborted by the caller");
  return TW_OK;
}

int tw__dec_call(tw_window_decoder *d, int n_seq, const int32_t *tokens, int n_past, tw_errbuf *err) {
  int rc = check_abort(d, err);
  if (rc) return rc;
  rc = d->src->decode(d->src->self, n_seq, 1, tokens, n_past, 0, d->logits);
  return rc ? source_failed(d, rc, "step", err) : TW_OK;
}

int tw__dec_reorder(tw_window_decoder *d, int n_seq, const int *src, int n_past, tw_errbuf *err) {
  int rc = d->src->reorder(d->src->self, n_seq, src, n_past);
  return rc ? source_failed(d, rc, "cache reorder", err) : TW_OK;
}

double tw__logsumexp(const float *logits, int n) {
  /* expf of the float differences, as PyTorch's float32 log_softmax takes
   * them (OpenAI's reference), summed in double: vectorised in ops.c */
  return n > 0 ? tw_op_logsumexp(logits, (size_t)n) : -INFINITY;
}

int tw__rank(const tw_seq *seqs, int n, double length_penalty) {
  int best = 0;
  double best_score = -INFINITY;
  for (int i = 0; i < n; i++) {
    /* Python would divide by zero on an empty sequence; count it as one. */
    double len = seqs[i].len > 0 ? seqs[i].len : 1;
    double penalty = isnan(length_penalty) ? len : pow((5.0 + seqs[i].len) / 6.0, length_penalty);
    double score = (double)seqs[i].sum / penalty;
    if (i == 0 || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

int tw_initial_tokens(const tw_decode_tokens *ids, int32_t language_token, int translate,
                      int without_timestamps, const int32_t *prompt, int n_prompt, int n_text_ctx,
                      int32_t *out, int *n_out, int *sot_index, tw_errbuf *err) {
  if (n_prompt < 0 || (n_prompt && !prompt) || n_text_ctx < 8)
    return tw_err(err, TW_EINVAL, "initial tokens: bad prompt");
  if (ids->multilingual &&
      (language_token < ids->lang_begin || language_token >= ids->lang_begin + ids->n_languages))
    return tw_err(err, TW_EINVAL, "initial tokens: %d is not a language token",
                  (int)language_token);
  int n = 0;
  if (n_prompt > 0) {
    int keep = n_prompt < n_text_ctx / 2 - 1 ? n_prompt : n_text_ctx / 2 - 1;
    out[n++] = ids->sot_prev;
    memcpy(out + n, prompt + (n_prompt - keep), sizeof(int32_t) * (size_t)keep);
    n += keep;
  }
  *sot_index = n;
  out[n++] = ids->sot;
  /* English-only models have no language or task token (OpenAI's gpt2 tokenizer). */
  if (ids->multilingual) {
    out[n++] = language_token;
    out[n++] = translate ? ids->translate : ids->transcribe;
  }
  if (without_timestamps) out[n++] = ids->no_timestamps;
  *n_out = n;
  return TW_OK;
}

static int check_options(const tw_window_decoder *d, const tw_decode_options *o, int n_initial,
                         int sot_index, tw_errbuf *err) {
  if (!(o->temperature >= 0) || o->beam_size < 0 || o->best_of < 0 || o->sample_len < 0)
    return tw_err(err, TW_EINVAL, "decode: negative temperature, beam size, best_of or length");
  if (o->beam_size > 0 && (o->temperature > 0 || o->best_of > 1))
    return tw_err(err, TW_EINVAL, "decode: beam search is for T = 0 without best_of");
  if (o->temperature == 0 && o->best_of > 1)
    return tw_err(err, TW_EINVAL, "decode: best_of %d with greedy decoding (T = 0)", o->best_of);
  int group = o->beam_size > 0 ? o->beam_size : (o->best_of > 1 ? o->best_of : 1);
  if (group > d->max_group)
    return tw_err(err, TW_EINVAL, "decode: group of %d exceeds the decoder's %d", group,
                  d->max_group);
  if (!isnan(o->length_penalty) && !(o->length_penalty >= 0 && o->length_penalty <= 1))
    return tw_err(err, TW_EINVAL, "decode: length_penalty %g is not in [0, 1]", o->length_penalty);
  if (sot_index < 0 || sot_index >= n_initial || n_initial - sot_index > TW_PREFILL_ROWS ||
      n_initial >= d->n_ctx)
    return tw_err(err, TW_EINVAL, "decode: %d initial tokens with SOT at %d", n_initial, sot_index);
  return TW_OK;
}

/* softmax(unfiltered logits at SOT)[<|nospeech|>], before any filter. */
static double no_speech_prob(const float *row, int n_vocab, int32_t no_speech) {
  double mx = -INFINITY, sum = 0;
  for (int i = 0; i < n_vocab; i++) mx = row[i] > mx ? row[i] : mx;
  for (int i = 0; i < n_vocab; i++) sum += exp((double)row[i] - mx);
  return exp((double)row[no_speech] - mx) / sum;
}

static int prefill(tw_window_decoder *d, const int32_t *initial, int n_initial, int sot_index, int n_group,
                   double *p_nospeech, tw_errbuf *err) {
  int rc = check_abort(d, err);
  if (rc) return rc;
  rc = d->src->decode(d->src->self, 1, n_initial, initial, 0, sot_index, d->prefill);
  if (rc) return source_failed(d, rc, "prefill", err);
  size_t v = (size_t)d->n_vocab;
  *p_nospeech = no_speech_prob(d->prefill, d->n_vocab, d->filters->ids.no_speech);
  /* Every sequence of the group starts from the prompt's last logits. */
  const float *last = d->prefill + (size_t)(n_initial - 1 - sot_index) * v;
  for (int g = 0; g < n_group; g++) memcpy(d->logits + (size_t)g * v, last, sizeof(float) * v);
  if (n_group == 1) return TW_OK;
  for (int g = 0; g < n_group; g++) d->src_idx[g] = 0;
  return tw__dec_reorder(d, n_group, d->src_idx, n_initial, err);
}

static int finish_result(tw_window_decoder *d, const tw_seq *s, double temperature, double p_nospeech,
                         tw_decode_result *res, tw_errbuf *err) {
  memcpy(d->res_tok, s->tok, sizeof(int32_t) * (size_t)s->len);
  for (int i = 0; i < s->len; i++) d->res_prob[i] = (float)exp((double)s->lp[i]);
  tw_free(d->text);
  d->text = NULL;
  size_t len, b, e;
  int rc = tw_tokens_text(d->text_src, s->tok, s->len, d->filters->ids.eot, &d->text, &len, err);
  if (rc) return rc;
  tw_utf8_strip(d->text, len, &b, &e);
  memmove(d->text, d->text + b, e - b);
  d->text[e - b] = '\0';
  memset(res, 0, sizeof *res);
  rc = tw_compression_ratio(d->text, e - b, &res->compression_ratio, err);
  if (rc) return rc;
  res->tokens = d->res_tok;
  res->probs = d->res_prob;
  res->n_tokens = s->len;
  res->text = d->text;
  res->sum_logprob = s->sum;
  res->avg_logprob = (double)s->sum / (s->len + 1);
  res->no_speech_prob = p_nospeech;
  res->temperature = temperature;
  return TW_OK;
}

int tw_decode_window(tw_window_decoder *d, const tw_decode_options *o, const int32_t *initial,
                     int n_initial, int sot_index, tw_decode_result *res, tw_errbuf *err) {
  int rc = check_options(d, o, n_initial, sot_index, err);
  if (rc) return rc;
  int beam = o->beam_size > 0;
  int n_group = beam ? o->beam_size : (o->best_of > 1 ? o->best_of : 1);
  int sample_len = o->sample_len > 0 ? o->sample_len : d->n_ctx / 2;
  if (sample_len > d->n_ctx) sample_len = d->n_ctx;
  if (d->filters->min_tokens > 0 && d->filters->min_tokens < sample_len)
    sample_len = d->filters->min_tokens; /* the benchmark budget is exact */
  int max_cand = 0;
  if (beam) {
    double patience = o->patience > 0 ? o->patience : 1.0;
    max_cand = (int)nearbyint(o->beam_size * patience); /* Python's round(): half to even */
    if (max_cand <= 0 || max_cand > 4096)
      return tw_err(err, TW_EINVAL, "decode: beam %d x patience %g gives %d candidates",
                    o->beam_size, patience, max_cand);
    int need = max_cand > o->beam_size ? max_cand : o->beam_size;
    if (ensure_finished(d, need)) return tw_err(err, TW_ENOMEM, "decode: out of memory");
  }
  double p_nospeech = NAN;
  rc = prefill(d, initial, n_initial, sot_index, n_group, &p_nospeech, err);
  if (rc) return rc;
  int best;
  const tw_seq *chosen;
  if (beam) {
    rc = tw__decode_beam(d, o, n_initial, sample_len, max_cand, &best, err);
    chosen = &d->finished[best];
  } else {
    tw_srng_seed(&d->rng, o->seed);
    rc = tw__decode_greedy(d, o, n_group, n_initial, sample_len, &best, err);
    chosen = &d->seqs[best];
  }
  if (rc) return rc;
  return finish_result(d, chosen, o->temperature, p_nospeech, res, err);
}

int tw_window_detect_language(const tw_logits_source *src, const tw_decode_tokens *ids, double *probs,
                       int *best, tw_errbuf *err) {
  if (!ids->multilingual || ids->n_languages <= 0)
    return tw_err(err, TW_EUNSUPPORTED, "language detection needs a multilingual model");
  if (src->n_vocab != ids->n_vocab)
    return tw_err(err, TW_EINVAL, "language detection: %d logits for %d ids", (int)src->n_vocab,
                  (int)ids->n_vocab);
  float *logits = tw_malloc_aligned(sizeof(float) * (size_t)src->n_vocab);
  if (!logits) return tw_err(err, TW_ENOMEM, "language detection: out of memory");
  int rc = src->decode(src->self, 1, 1, &ids->sot, 0, 0, logits);
  if (rc) {
    const char *msg = src->last_error ? src->last_error(src->self) : NULL;
    tw_free(logits);
    return tw_err(err, rc < 0 ? rc : TW_EDEVICE, "language detection failed: %s",
                  msg && *msg ? msg : tw_strerror(rc));
  }
  const float *row = logits + ids->lang_begin;
  double mx = -INFINITY, sum = 0;
  int arg = 0;
  for (int i = 0; i < ids->n_languages; i++)
    if (row[i] > mx) {
      mx = row[i];
      arg = i;
    }
  for (int i = 0; i < ids->n_languages; i++) sum += exp((double)row[i] - mx);
  for (int i = 0; i < ids->n_languages; i++) probs[i] = exp((double)row[i] - mx) / sum;
  tw_free(logits);
  *best = arg;
  return TW_OK;
}

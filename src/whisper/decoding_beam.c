/* OpenAI's BeamSearchDecoder: every step each beam proposes its beam_size + 1
 * likeliest tokens scored by cumulative log-probability; candidates ending in
 * EOT are finished, the best beam_size others become the next beams. The
 * search ends when round(beam_size * patience) sequences have finished.
 *
 * Ties are broken the way OpenAI's Python happens to break them, written
 * down here because a test relies on it: topk lists equal logprobs lowest id
 * first; candidates of equal score keep their order of creation (beam, then
 * topk rank: Python's sorted() is stable over dict insertion order). */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "whisper/decoding_impl.h"

static void seq_copy(tw_seq *dst, const tw_seq *src) {
  memcpy(dst->tok, src->tok, sizeof(int32_t) * (size_t)src->len);
  memcpy(dst->lp, src->lp, sizeof(float) * (size_t)src->len);
  dst->len = src->len;
  dst->sum = src->sum;
}

/* Beams with the same tokens as an earlier beam (all of them at the first
 * step, after the fan-out) would propose the same sequences; OpenAI's dict
 * keeps one of each, so only the first beam of a kind proposes. */
static int duplicate_of_earlier(const tw_seq *seqs, int j) {
  for (int k = 0; k < j; k++)
    if (seqs[k].len == seqs[j].len &&
        !memcmp(seqs[k].tok, seqs[j].tok, sizeof(int32_t) * (size_t)seqs[j].len))
      return 1;
  return 0;
}

/* Appends beam j's top k tokens by logprob (lowest id first on ties). The
 * top k of the logits are the top k of log_softmax, which only shifts them
 * by lse; so only k log-probabilities are formed, not the whole row. */
static int top_candidates(const float *logits, int n_vocab, double lse, int k, int j, float sum,
                          tw_cand *out) {
  int n = 0;
  for (int t = 0; t < n_vocab; t++) {
    if (n == k && !(logits[t] > out[n - 1].lp)) continue;
    int pos = n < k ? n++ : k - 1;
    while (pos > 0 && logits[t] > out[pos - 1].lp) {
      out[pos] = out[pos - 1];
      pos--;
    }
    out[pos].lp = logits[t]; /* the logit until the list is final */
    out[pos].token = t;
    out[pos].beam = j;
  }
  for (int i = 0; i < n; i++) {
    out[i].lp = (float)((double)out[i].lp - lse);
    out[i].score = sum + out[i].lp; /* float32, as torch adds */
  }
  return n;
}

/* Stable sort by descending score (insertion sort: at most B(B+1) items). */
static void sort_candidates(tw_cand *c, int n) {
  for (int i = 1; i < n; i++) {
    tw_cand x = c[i];
    int p = i;
    while (p > 0 && x.score > c[p - 1].score) {
      c[p] = c[p - 1];
      p--;
    }
    c[p] = x;
  }
}

typedef struct beam_job {
  tw_window_decoder *d;
  int beam;
  const unsigned char *skip; /* [beam] duplicates of an earlier beam */
  int *count;                /* [beam] candidates of each beam */
} beam_job;

/* Beams [r0, r1): filters, log-sum-exp and top beam + 1 tokens, into the
 * beam's own stretch of d->cand (j (beam + 1) on): beams only read their
 * own logits and tokens, so they run on any thread alike. */
static void beam_rows(void *arg, size_t r0, size_t r1, size_t task) {
  (void)task;
  const beam_job *b = arg;
  tw_window_decoder *d = b->d;
  for (size_t j = r0; j < r1; j++) {
    b->count[j] = 0;
    if (b->skip[j]) continue;
    float *row = d->logits + j * (size_t)d->n_vocab;
    tw_logit_filters_apply(d->filters, row, d->seqs[j].tok, d->seqs[j].len);
    double lse = tw__logsumexp(row, d->n_vocab);
    b->count[j] = top_candidates(row, d->n_vocab, lse, b->beam + 1, (int)j, d->seqs[j].sum,
                                 d->cand + j * (size_t)(b->beam + 1));
  }
}

/* One step: candidates from every distinct beam, new beams into d->next,
 * new finished sequences into d->finished. Returns the number of beams.
 * The beams' rows run over the source's threads (round 5: jfk's beam-5
 * rules 0.021 -> 0.015 s on 2), then their candidates are put in beam
 * order, the order of creation the stable sort keeps. */
static int beam_step(tw_window_decoder *d, int beam, int max_candidates) {
  const int32_t eot = d->filters->ids.eot;
  unsigned char skip[64];
  int count[64];
  for (int j = 0; j < beam; j++) skip[j] = (unsigned char)duplicate_of_earlier(d->seqs, j);
  beam_job b = {.d = d, .beam = beam, .skip = skip, .count = count};
  tw_parallel_rows(d->src->pool, (size_t)beam, beam_rows, &b); /* NULL pool: this thread */
  int n_cand = 0;
  for (int j = 0; j < beam; j++) { /* compacted forwards: n_cand <= j (beam + 1) */
    if (count[j] && n_cand != j * (beam + 1))
      memmove(d->cand + n_cand, d->cand + (size_t)j * (size_t)(beam + 1),
              sizeof(tw_cand) * (size_t)count[j]);
    n_cand += count[j];
  }
  sort_candidates(d->cand, n_cand);
  int saved = 0;
  for (int c = 0; c < n_cand && saved < beam; c++) {
    const tw_cand *x = &d->cand[c];
    const tw_seq *from = &d->seqs[x->beam];
    if (x->token == eot) {
      /* Already in descending order, so "the best first until full" is
       * OpenAI's rule for adding newly finished sequences. */
      if (d->n_finished < max_candidates) {
        tw_seq *f = &d->finished[d->n_finished++];
        seq_copy(f, from);
        f->sum = x->score;
      }
      continue;
    }
    tw_seq *nb = &d->next[saved];
    seq_copy(nb, from);
    nb->tok[nb->len] = x->token;
    nb->lp[nb->len] = x->lp;
    nb->len++;
    nb->sum = x->score;
    d->src_idx[saved++] = x->beam;
  }
  return saved;
}

/* Not enough finished: the live beams by descending sum_logprob (equal sums
 * higher index first, as numpy's argsort(...)[::-1] orders them). */
static void finalize(tw_window_decoder *d, int beam) {
  int used[64] = {0};
  while (d->n_finished < beam) {
    int pick = -1;
    for (int j = beam - 1; j >= 0; j--)
      if (!used[j] && (pick < 0 || d->seqs[j].sum > d->seqs[pick].sum)) pick = j;
    used[pick] = 1;
    seq_copy(&d->finished[d->n_finished++], &d->seqs[pick]);
  }
}

int tw__decode_beam(tw_window_decoder *d, const tw_decode_options *o, int n_initial, int sample_len,
                    int max_candidates, int *best, tw_errbuf *err) {
  const int beam = o->beam_size;
  for (int j = 0; j < beam; j++) {
    d->seqs[j].len = 0;
    d->seqs[j].sum = 0;
  }
  d->n_finished = 0;
  for (int i = 0; i < sample_len; i++) {
    int cached = n_initial + (i > 0 ? i - 1 : 0), rc;
    if (i > 0) {
      for (int j = 0; j < beam; j++) d->step_tok[j] = d->seqs[j].tok[d->seqs[j].len - 1];
      rc = tw__dec_call(d, beam, d->step_tok, cached, err);
      if (rc) return rc;
      cached++;
    }
    int saved = beam_step(d, beam, max_candidates);
    tw_seq *t = d->seqs;
    d->seqs = d->next;
    d->next = t;
    /* At step 0 every row still holds the same fanned-out prompt, so any
     * rearrangement is a no-op and is skipped. */
    int moved = 0;
    for (int j = 0; j < saved; j++) moved |= d->src_idx[j] != j;
    if (moved && i > 0) {
      rc = tw__dec_reorder(d, saved, d->src_idx, cached, err);
      if (rc) return rc;
    }
    if (d->n_finished >= max_candidates || n_initial + i + 1 > d->n_ctx) break;
  }
  finalize(d, beam);
  *best = tw__rank(d->finished, d->n_finished, o->length_penalty);
  return TW_OK;
}

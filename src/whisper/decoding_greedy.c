/* OpenAI's GreedyDecoder: argmax at T = 0, otherwise a draw from
 * softmax(logits / T), for each of n_group independent sequences; the
 * log-probability counted is that of the filtered, un-tempered logits. */
#include <math.h>

#include "whisper/decoding_impl.h"
#include "whisper/ops.h"

static int argmax(const float *row, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (row[i] > row[best]) best = i;
  return best;
}

/* One draw from softmax(row / T) by inversion of the cumulative weights
 * (w: n doubles of scratch, so each exp is taken once). */
static int sample(tw_srng *rng, const float *row, int n, double temperature, double *w) {
  /* the weights in double, vectorised (ops.c) */
  double total = tw_op_exp_weights(row, (size_t)n, temperature, w);
  if (total == 0.0) return 0; /* every logit -inf */
  double target = tw_srng_unit(rng) * total, acc = 0;
  int last = 0;
  for (int i = 0; i < n; i++) {
    if (w[i] == 0.0) continue;
    acc += w[i];
    last = i;
    if (acc > target) return i;
  }
  return last; /* rounding left target at the very end of the sum */
}

/* Chooses the next token of every live sequence from its logits row. */
static void choose(tw_window_decoder *d, const tw_decode_options *o, int n_active) {
  const int32_t eot = d->filters->ids.eot;
  for (int r = 0; r < n_active; r++) {
    tw_seq *s = &d->seqs[d->active[r]];
    float *row = d->logits + (size_t)r * (size_t)d->n_vocab;
    tw_logit_filters_apply(d->filters, row, s->tok, s->len);
    int tok = o->temperature == 0 ? argmax(row, d->n_vocab)
                                  : sample(&d->rng, row, d->n_vocab, o->temperature, d->weights);
    /* log_softmax of the filtered, un-tempered logits, as OpenAI counts it */
    float lp = (float)((double)row[tok] - tw__logsumexp(row, d->n_vocab));
    s->sum += lp;
    if (tok == eot) {
      s->done = 1;
    } else {
      s->tok[s->len] = tok;
      s->lp[s->len] = lp;
      s->len++;
    }
  }
}

int tw__decode_greedy(tw_window_decoder *d, const tw_decode_options *o, int n_group, int n_initial,
                      int sample_len, int *best, tw_errbuf *err) {
  for (int g = 0; g < n_group; g++) {
    d->seqs[g].len = 0;
    d->seqs[g].sum = 0;
    d->seqs[g].done = 0;
    d->active[g] = g;
  }
  int n_active = n_group, rc;
  for (int i = 0; i < sample_len; i++) {
    int cached = n_initial + (i > 0 ? i - 1 : 0);
    if (i > 0) {
      for (int r = 0; r < n_active; r++) {
        const tw_seq *s = &d->seqs[d->active[r]];
        d->step_tok[r] = s->tok[s->len - 1];
      }
      rc = tw__dec_call(d, n_active, d->step_tok, cached, err);
      if (rc) return rc;
      cached++;
    }
    choose(d, o, n_active);
    /* Finished sequences leave the batch: the live ones move to the first
     * cache rows so later steps compute only what is still needed. */
    int kept = 0, moved = 0;
    for (int r = 0; r < n_active; r++)
      if (!d->seqs[d->active[r]].done) {
        moved |= kept != r;
        d->src_idx[kept] = r;
        d->active[kept++] = d->active[r];
      }
    if (kept == 0) break;
    if (n_initial + i + 1 > d->n_ctx) break; /* the context is full */
    if (moved) {
      rc = tw__dec_reorder(d, kept, d->src_idx, cached, err);
      if (rc) return rc;
    }
    n_active = kept;
  }
  *best = tw__rank(d->seqs, n_group, o->length_penalty);
  return TW_OK;
}

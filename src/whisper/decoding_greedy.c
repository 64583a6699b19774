/* OpenAI's GreedyDecoder: argmax at T = 0, otherwise a draw from
 * softmax(logits / T), for each of n_group independent sequences; the
 * log-probability counted is that of the filtered, un-tempered logits. */
#include <math.h>

#include "core/threadpool.h"
#include "whisper/decoding_impl.h"
#include "whisper/ops.h"

static int argmax(const float *row, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (row[i] > row[best]) best = i;
  return best;
}

/* One draw from softmax(row / T) by inversion of the cumulative weights,
 * u in [0, 1) the uniform variate (w: n doubles of scratch, so each exp is
 * taken once). */
static int sample(double u, const float *row, int n, double temperature, double *w) {
  /* the weights in double, vectorised (ops.c) */
  double total = tw_op_exp_weights(row, (size_t)n, temperature, w);
  if (total == 0.0) return 0; /* every logit -inf */
  double target = u * total, acc = 0;
  int last = 0;
  for (int i = 0; i < n; i++) {
    if (w[i] == 0.0) continue;
    acc += w[i];
    last = i;
    if (acc > target) return i;
  }
  return last; /* rounding left target at the very end of the sum */
}

typedef struct choose_job {
  tw_window_decoder *d;
  double temperature;
  const double *u;  /* [n_active] the draws, in row order */
  int32_t *tok;     /* [n_active] out */
  float *lp;        /* [n_active] out */
} choose_job;

/* Rows [r0, r1) on task `task` (< the pool's threads, and < the rows:
 * tw_parallel_rows): filters, the token, and its log-probability.  Each
 * row reads and writes only its own logits and its task's weights, so rows
 * run on any thread with the same result. */
static void choose_rows(void *arg, size_t r0, size_t r1, size_t task) {
  choose_job *j = arg;
  tw_window_decoder *d = j->d;
  const size_t v = (size_t)d->n_vocab;
  for (size_t r = r0; r < r1; r++) {
    const tw_seq *s = &d->seqs[d->active[r]];
    float *row = d->logits + r * v;
    tw_logit_filters_apply(d->filters, row, s->tok, s->len);
    const int tok = j->temperature == 0 ? argmax(row, d->n_vocab)
                                        : sample(j->u[r], row, d->n_vocab, j->temperature,
                                                 d->weights + task * v);
    /* log_softmax of the filtered, un-tempered logits, as OpenAI counts it */
    j->tok[r] = tok;
    j->lp[r] = (float)((double)row[tok] - tw__logsumexp(row, d->n_vocab));
  }
}

/* Chooses the next token of every live sequence from its logits row.  The
 * uniform variates are drawn first, in row order, as one row after the
 * other drew them, so that the choice does not depend on the threads; the
 * rows (filters, one exp per logit in double when sampling, a log-sum-exp)
 * are then spread over the source's threads: with best-of 5 at T > 0 they
 * were a third of a transcription's time, on one thread. */
static void choose(tw_window_decoder *d, const tw_decode_options *o, int n_active) {
  const int32_t eot = d->filters->ids.eot;
  double u[64];
  int32_t tok[64];
  float lp[64];
  if (o->temperature != 0)
    for (int r = 0; r < n_active; r++) u[r] = tw_srng_unit(&d->rng);
  choose_job j = {.d = d, .temperature = o->temperature, .u = u, .tok = tok, .lp = lp};
  /* min(threads, rows) tasks, each with its row of weights: a pool larger
   * than the one the decoder was made with runs the rows on this thread */
  tw_threadpool *pool = d->src->pool;
  if (tw_threadpool_size(pool) > d->weight_rows && n_active > d->weight_rows) pool = NULL;
  tw_parallel_rows(pool, (size_t)n_active, choose_rows, &j);
  for (int r = 0; r < n_active; r++) {
    tw_seq *s = &d->seqs[d->active[r]];
    s->sum += lp[r];
    if (tok[r] == eot) {
      s->done = 1;
    } else {
      s->tok[s->len] = tok[r];
      s->lp[s->len] = lp[r];
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

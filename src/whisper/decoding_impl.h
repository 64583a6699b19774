/* Internals shared by decoding.c (the window), decoding_greedy.c (argmax and
 * sampling) and decoding_beam.c (beam search). */
#ifndef TW_WHISPER_DECODING_IMPL_H
#define TW_WHISPER_DECODING_IMPL_H

#include "whisper/decoding.h"
#include "whisper/sampler_rng.h"

/* One candidate sequence: its sampled tokens and their log-probabilities. */
typedef struct tw_seq {
  int32_t *tok; /* [cap] */
  float *lp;    /* [cap] */
  int len;
  float sum; /* OpenAI keeps sum_logprobs in a float32 tensor */
  int done;  /* greedy: EOT sampled */
} tw_seq;

struct tw_window_decoder {
  const tw_logits_source *src;
  const tw_logit_filters *filters;
  const tw_token_text *text_src;
  int n_ctx, max_group, n_vocab, cap; /* cap: tokens a sequence can hold */
  int n_finished_cap;
  tw_abort_fn abort_fn;
  void *abort_user;

  float *prefill;      /* [TW_PREFILL_ROWS][n_vocab] logits from the SOT position on */
  float *logits;       /* [max_group][n_vocab] */
  double *weights;     /* [weight_rows][n_vocab] sampling weights, a row per choosing task */
  int weight_rows;     /* min(max_group, the threads of src->pool at creation) */
  int32_t *step_tok;   /* [max_group] tokens fed in one step */
  int *src_idx;        /* [max_group] reorder sources */
  int *active;         /* [max_group] greedy: sequence held by each cache row */
  tw_seq *seqs, *next; /* [max_group] live sequences, and a second set to rebuild beams */
  tw_seq *finished;    /* [n_finished_cap] beam search */
  int n_finished;
  struct tw_cand *cand; /* [max_group * (max_group + 1)] beam candidates */
  int32_t *res_tok;     /* [cap] the chosen sequence */
  float *res_prob;
  char *text; /* decoded text of the result (tw_free) */
  tw_srng rng;
};

/* Rows of prefill logits kept: SOT, language, task, <|notimestamps|> and one spare. */
#define TW_PREFILL_ROWS 5

typedef struct tw_cand {
  float score;
  float lp;
  int32_t token;
  int beam;
} tw_cand;

/* Calls the source, turning its failure into a message. */
int tw__dec_call(tw_window_decoder *d, int n_seq, const int32_t *tokens, int n_past, tw_errbuf *err);
int tw__dec_reorder(tw_window_decoder *d, int n_seq, const int *src, int n_past, tw_errbuf *err);

/* log(sum(exp(logits))) in double: log_softmax(logits)[i] = logits[i] - it. */
double tw__logsumexp(const float *logits, int n);

/* Greedy or sampled decoding of n_group sequences (decoding_greedy.c). The
 * last prefill row is in d->logits row 0; the cache holds n_group copies of
 * the initial tokens. Leaves the best sequence's index in *best. */
int tw__decode_greedy(tw_window_decoder *d, const tw_decode_options *o, int n_group, int n_initial,
                      int sample_len, int *best, tw_errbuf *err);
/* Beam search (decoding_beam.c); the result sequence is in d->finished[*best]. */
int tw__decode_beam(tw_window_decoder *d, const tw_decode_options *o, int n_initial, int sample_len,
                    int max_candidates, int *best, tw_errbuf *err);

/* MaximumLikelihoodRanker: index of the best of n sequences (first on ties). */
int tw__rank(const tw_seq *seqs, int n, double length_penalty);

#endif

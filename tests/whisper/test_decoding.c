/* One window's decoding against a scripted logits source (no model): greedy,
 * beam search with ties, best-of sampling (reproducible, and distributed as
 * the softmax says), no_speech_prob, the initial tokens, and the protocol
 * with the source. Expected tokens and log-probabilities are worked out by
 * hand from the scripted logits (chosen so log_softmax is a log of a simple
 * fraction) following whisper/decoding.py. */
#include <math.h>
#include <string.h>

#include "core/mem.h"
#include "scripted_source.h"
#include "core/threadpool.h"
#include "tw_test.h"
#include "whisper/decoding.h"
#include "whisper/decoding_impl.h"

static float zero_window[SC_N_MELS * 3000];

typedef struct harness {
  scripted_source src;
  tw_logit_filters f;
  tw_token_text tt;
  tw_window_decoder *dec;
  int32_t init[240];
  int n_init, sot_index;
} harness;

/* Filters as transcribe() sets them, minus the suppress set (empty). */
/* The source's pool for the harnesses set up while it is not NULL (the
 * rows of a step then run on its threads). */
static tw_threadpool *setup_pool;

static void setup(harness *h, sc_script_fn fn, void *user, int timestamps, int max_group) {
  memset(h, 0, sizeof *h);
  sc_init(&h->src, fn, user);
  h->src.iface.pool = setup_pool;
  h->f.ids = sc_tokens(1);
  h->f.suppress_blank = 1;
  h->f.timestamps = timestamps;
  h->f.max_initial_index = 50;
  h->tt = sc_text();
  CHECK(tw_window_decoder_create(&h->src.iface, &h->f, &h->tt, SC_CTX, max_group, &h->dec, NULL) == TW_OK);
  CHECK(tw_initial_tokens(&h->f.ids, SC_LANG0, 0, !timestamps, NULL, 0, SC_CTX, h->init, &h->n_init,
                          &h->sot_index, NULL) == TW_OK);
  h->src.iface.set_audio(&h->src, zero_window);
}

static void teardown(harness *h) {
  CHECK_MSG(h->src.violation[0] == '\0', "protocol: %s", h->src.violation);
  tw_window_decoder_destroy(h->dec);
}

static int sampled_step(const sc_view *v, int n_init) { return v->n_hist - n_init; }

/* ---- greedy ---------------------------------------------------------- */

/* Logits per step (others -inf), see test_greedy for the hand-worked result. */
static void greedy_script(void *user, const sc_view *v, float *l) {
  (void)user;
  sc_fill(l, -INFINITY);
  if (v->hist[v->n_hist - 1] == SC_SOT) { /* the SOT position: no_speech 3 : 1 */
    l[SC_NO_SPEECH] = logf(3.0f);
    l[0] = 0.0f;
    return;
  }
  switch (sampled_step(v, 3)) {
  case 0:
    l[SC_TB] = 2;
    l[SC_TB + 1] = 1;
    l[3] = 5;
    break; /* text not allowed first */
  case 1:
    l[3] = 1;
    l[4] = 0;
    l[SC_TB + 20] = 9;
    break; /* after <|0.00|>: no timestamp */
  case 2:
    l[4] = l[5] = l[6] = 0;
    break; /* a three-way tie: lowest id */
  case 3:
    l[SC_TB + 50] = 1;
    l[5] = 0;
    break; /* timestamp mass 1 > text 0 */
  case 4:
    l[SC_EOT] = 0.5f;
    l[SC_TB + 50] = 0.5f;
    l[SC_TB + 51] = -INFINITY;
    l[3] = 7;
    break;
  default:
    l[SC_EOT] = 0;
    break;
  }
}

static void test_greedy(void) {
  harness h;
  setup(&h, greedy_script, NULL, 1, 1);
  CHECK(h.n_init == 3 && h.init[0] == SC_SOT && h.init[1] == SC_LANG0 &&
        h.init[2] == SC_TRANSCRIBE);
  tw_decode_options o;
  tw_decode_options_init(&o);
  tw_decode_result r;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_OK);
  /* step 0: {61: 2, 62: 1}          -> 61, lp -log(1 + e^-1)
   * step 1: {3: 1, 4: 0} (ts masked) -> 3,  lp -log(1 + e^-1)
   * step 2: {4, 5, 6 all 0}          -> 4,  lp -log 3
   * step 3: ts mass 1 > 0 kills text -> 111, lp 0
   * step 4: text masked; {EOT .5, 111 .5} -> EOT (lower id), lp -log 2 */
  const int32_t want[] = {SC_TB, 3, 4, SC_TB + 50};
  CHECK(r.n_tokens == 4);
  for (int i = 0; i < 4 && i < r.n_tokens; i++)
    CHECK_MSG(r.tokens[i] == want[i], "token %d = %d", i, r.tokens[i]);
  double a = -log(1 + exp(-1.0));
  double sum = 2 * a - log(3.0) - log(2.0);
  CHECK_MSG(fabs(r.sum_logprob - sum) < 1e-6, "sum %.9f vs %.9f", r.sum_logprob, sum);
  CHECK(fabs(r.avg_logprob - sum / 5) < 1e-6);
  CHECK(fabs(r.probs[0] - exp(a)) < 1e-6 && fabs(r.probs[2] - 1.0 / 3) < 1e-6 &&
        fabs(r.probs[3] - 1.0) < 1e-6);
  CHECK(fabs(r.no_speech_prob - 0.75) < 1e-6);
  CHECK(!strcmp(r.text, "d e")); /* " d" + " e", stripped */
  /* python3 -c 'import zlib; b=b"d e"; print(len(b)/len(zlib.compress(b)))' */
  CHECK(r.compression_ratio == 0.2727272727272727);
  CHECK(r.temperature == 0);
  /* Protocol: one prefill, then one single-row step per further token. */
  CHECK(h.src.n_prefill == 1 && h.src.n_steps == 4 && h.src.n_reorder == 0 && h.src.max_seq == 1);
  teardown(&h);
}

/* ---- beam search ----------------------------------------------------- */

/* Four-way tie first; then each beam may end or go on with equal odds. */
static void beam_tie_script(void *user, const sc_view *v, float *l) {
  (void)user;
  sc_fill(l, -INFINITY);
  int n = sampled_step(v, 4); /* sot, lang, task, notimestamps */
  const int32_t *s = v->hist + 4;
  if (n < 0) {
    l[0] = 0;
  } else if (n == 0) {
    l[10] = l[11] = l[12] = l[13] = 0;
  } else if (n == 1) {
    l[SC_EOT] = 0;
    l[s[0] == 10 ? 20 : 21] = 0;
  } else {
    l[SC_EOT] = 0;
  }
}

static void run_beam(harness *h, double patience, double alpha, tw_decode_result *r) {
  tw_decode_options o;
  tw_decode_options_init(&o);
  o.beam_size = 2;
  o.patience = patience;
  o.length_penalty = alpha;
  CHECK(tw_decode_window(h->dec, &o, h->init, h->n_init, h->sot_index, r, NULL) == TW_OK);
}

static void beam_ties(void) {
  harness h;
  setup(&h, beam_tie_script, NULL, 0, 2);
  CHECK(h.n_init == 4 && h.init[3] == SC_NO_TS);
  /* Step 0: 10..13 tie at log .25; topk(3) takes 10, 11, 12 (lowest ids), so
   * the beams are [10], [11] (the cache fans out: reorder [0, 0]).
   * Step 1: per beam EOT and 20 (or 21) at log .5, all scores log .125.
   * Creation order b0:20, b0:EOT, b1:21, b1:EOT survives the stable sort:
   * beams [10,20], [11,21]; finished [10] (b1's EOT comes after the 2nd beam).
   * Step 2: only EOT: [10,20] finishes; max_candidates 2 reached.
   * Rank: [10] log(.125)/1, [10,20] log(.125)/2 -> [10,20]. */
  tw_decode_result r;
  run_beam(&h, 0, NAN, &r);
  CHECK(r.n_tokens == 2 && r.tokens[0] == 10 && r.tokens[1] == 20);
  CHECK(fabs(r.sum_logprob - log(0.125)) < 1e-6);
  CHECK(fabs(r.avg_logprob - log(0.125) / 3) < 1e-6);
  CHECK(fabs(r.probs[0] - 0.25) < 1e-6 && fabs(r.probs[1] - 0.5) < 1e-6);
  CHECK(h.src.n_prefill == 1 && h.src.max_seq == 2 && h.src.n_steps == 2);
  /* The fan-out, none at step 1 (the beams stay in place), and one at step 2
   * where both -inf continuations come from beam 0 (sources [0, 0]). */
  CHECK_MSG(h.src.n_reorder == 2, "%d reorders", h.src.n_reorder);

  /* Length penalty alpha 0: penalty 1, equal scores, the first finished wins. */
  run_beam(&h, 0, 0.0, &r);
  CHECK(r.n_tokens == 1 && r.tokens[0] == 10);

  /* Patience 2: 4 candidates. Step 2 finishes [10,20] and [11,21]; the new
   * beams extend [10,20] with -inf tokens 0 and 1 and finish at step 3 with
   * -inf. [10,20] and [11,21] tie at log(.125)/2: the first one wins. */
  run_beam(&h, 2.0, NAN, &r);
  CHECK(r.n_tokens == 2 && r.tokens[0] == 10 && r.tokens[1] == 20);
  teardown(&h);
}

/* The same hand-worked search with the beams' rows on 2 and 3 threads:
 * the candidates must still be sorted in their order of creation. */
static void test_beam_ties(void) {
  beam_ties();
  for (int threads = 2; threads <= 3; threads++) {
    CHECK(tw_threadpool_create(threads, &setup_pool) == TW_OK);
    if (setup_pool) beam_ties();
    tw_threadpool_destroy(setup_pool);
    setup_pool = NULL;
  }
}

/* Without EOT the budget ends the search and finalize ranks live beams. */
static void beam_budget_script(void *user, const sc_view *v, float *l) {
  (void)user;
  sc_fill(l, -INFINITY);
  int n = sampled_step(v, 4);
  if (n < 0) {
    l[0] = 0;
  } else if (n == 0) {
    l[10] = logf(0.6f);
    l[11] = logf(0.4f);
  } else if (v->hist[4] == 10) {
    l[12] = l[13] = 0;
  } else {
    l[14] = 0;
  }
}

static void test_beam_finalize(void) {
  harness h;
  setup(&h, beam_budget_script, NULL, 0, 2);
  tw_decode_options o;
  tw_decode_options_init(&o);
  o.beam_size = 2;
  o.sample_len = 2;
  tw_decode_result r;
  /* After 2 steps: [11,14] log .4, [10,12] log .3 (12 before 13 on the tie),
   * nothing finished: both beams get EOT and [11,14] ranks first. */
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_OK);
  CHECK(r.n_tokens == 2 && r.tokens[0] == 11 && r.tokens[1] == 14);
  CHECK(fabs(r.sum_logprob - log(0.4)) < 1e-6);
  CHECK(h.src.n_steps == 1); /* the second token is chosen but never fed */
  teardown(&h);
}

static void test_rank(void) {
  tw_seq s[2] = {{.len = 2, .sum = -1.0f}, {.len = 4, .sum = -1.6f}};
  CHECK(tw__rank(s, 2, NAN) == 1); /* -0.5 vs -0.4 */
  CHECK(tw__rank(s, 2, 1.0) == 0); /* -1/(7/6) = -0.857 vs -1.6/(9/6) = -1.067 */
  CHECK(tw__rank(s, 2, 0.0) == 0); /* -1 vs -1.6 */
}

/* ---- sampling --------------------------------------------------------- */

/* First token: <|0.00|>..<|0.06|> with weights 1 : 2 : 3 : 4; then text
 * 3..6 (1 : 2 : 3 : 4) or EOT (2) until step 6, then EOT. */
static void sample_script(void *user, const sc_view *v, float *l) {
  (void)user;
  sc_fill(l, -INFINITY);
  int n = sampled_step(v, 3);
  if (n < 0) {
    l[0] = 0;
  } else if (n == 0) {
    for (int k = 0; k < 4; k++) l[SC_TB + k] = logf((float)(k + 1));
  } else {
    l[SC_EOT] = n < 6 ? logf(2.0f) : 0.0f;
    for (int k = 0; k < 4 && n < 6; k++) l[3 + k] = logf((float)(k + 1));
  }
}

/* Pearson's statistic of the first sampled token over n seeds against p. */
static double first_token_chi2(harness *h, double temperature, const double *p, int n) {
  int count[4] = {0};
  tw_decode_options o;
  tw_decode_options_init(&o);
  o.temperature = temperature;
  for (int i = 0; i < n; i++) {
    o.seed = (uint64_t)i;
    tw_decode_result r;
    if (tw_decode_window(h->dec, &o, h->init, h->n_init, h->sot_index, &r, NULL) != TW_OK)
      return 1e9;
    int k = r.tokens[0] - SC_TB;
    if (k < 0 || k > 3) return 1e9;
    count[k]++;
    /* The probability kept is the un-tempered one: weight (k+1)/10. */
    if (fabs(r.probs[0] - (k + 1) / 10.0) > 1e-6) return 1e9;
  }
  double chi2 = 0;
  for (int k = 0; k < 4; k++) chi2 += (count[k] - n * p[k]) * (count[k] - n * p[k]) / (n * p[k]);
  return chi2;
}

static void test_sampling_distribution(void) {
  harness h;
  setup(&h, sample_script, NULL, 1, 4);
  /* softmax(logits / T): T = 1 gives 1:2:3:4, T = 0.5 squares the weights.
   * 3 degrees of freedom: P(chi2 > 16.27) = 0.001 for a correct sampler. */
  const double p1[4] = {0.1, 0.2, 0.3, 0.4};
  const double p05[4] = {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0};
  double c1 = first_token_chi2(&h, 1.0, p1, 2000), c05 = first_token_chi2(&h, 0.5, p05, 2000);
  CHECK_MSG(c1 < 16.27, "chi2 %.2f at T = 1", c1);
  CHECK_MSG(c05 < 16.27, "chi2 %.2f at T = 0.5", c05);
  /* And a wrong law is told apart: T = 0.5 draws are far from 1:2:3:4. */
  double wrong = first_token_chi2(&h, 0.5, p1, 2000);
  CHECK_MSG(wrong > 100, "chi2 %.2f against the wrong law", wrong);
  teardown(&h);
}

static void test_best_of_reproducible(void) {
  harness h;
  setup(&h, sample_script, NULL, 1, 4);
  tw_decode_options o;
  tw_decode_options_init(&o);
  o.temperature = 1.0;
  o.best_of = 4;
  o.seed = 1234;
  int32_t first[16];
  tw_decode_result r;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_OK);
  int n = r.n_tokens;
  double sum = r.sum_logprob;
  CHECK(n >= 1 && n <= 7);
  memcpy(first, r.tokens, sizeof(int32_t) * (size_t)(n < 16 ? n : 16));
  CHECK(h.src.max_seq == 4 && h.src.n_prefill == 1);
  int reorders = h.src.n_reorder;
  CHECK(reorders >= 1); /* at least the fan-out of the prompt to 4 rows */
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_OK);
  CHECK(r.n_tokens == n && r.sum_logprob == sum &&
        !memcmp(first, r.tokens, sizeof(int32_t) * (size_t)n));
  CHECK(h.src.n_reorder == 2 * reorders);
  /* Every sampled token followed the rules: a timestamp, then text or EOT. */
  CHECK(r.tokens[0] >= SC_TB && r.tokens[0] < SC_TB + 4);
  for (int i = 1; i < r.n_tokens; i++) CHECK(r.tokens[i] >= 3 && r.tokens[i] <= 6);
  teardown(&h);
  /* The rows filtered and sampled on a pool of 1, 2 or 3 threads (the
   * source's pool, there when the decoder is made): the same draws, so the
   * same result as on the caller's thread alone, seed by seed (the
   * variates are drawn in row order before the rows run). */
  int differ = 0, runs = 0;
  for (int threads = 1; threads <= 3; threads++) {
    tw_threadpool *pool = NULL;
    CHECK(tw_threadpool_create(threads, &pool) == TW_OK);
    harness hp;
    memset(&hp, 0, sizeof hp);
    sc_init(&hp.src, sample_script, NULL);
    hp.src.iface.pool = pool;
    hp.f = h.f;
    hp.tt = sc_text();
    CHECK(tw_window_decoder_create(&hp.src.iface, &hp.f, &hp.tt, SC_CTX, 4, &hp.dec, NULL) == TW_OK);
    memcpy(hp.init, h.init, sizeof h.init);
    hp.n_init = h.n_init, hp.sot_index = h.sot_index;
    hp.src.iface.set_audio(&hp.src, zero_window);
    harness h1;
    setup(&h1, sample_script, NULL, 1, 4);
    for (uint64_t seed = 0; seed < 40 && pool && hp.dec; seed++) {
      o.seed = seed;
      tw_decode_result a, b;
      int32_t ta[16];
      if (tw_decode_window(h1.dec, &o, h1.init, h1.n_init, h1.sot_index, &a, NULL) != TW_OK) {
        differ++;
        continue;
      }
      const int na = a.n_tokens;
      const double sa = a.sum_logprob;
      memcpy(ta, a.tokens, sizeof(int32_t) * (size_t)(na < 16 ? na : 16));
      if (tw_decode_window(hp.dec, &o, hp.init, hp.n_init, hp.sot_index, &b, NULL) != TW_OK ||
          b.n_tokens != na || b.sum_logprob != sa ||
          memcmp(ta, b.tokens, sizeof(int32_t) * (size_t)(na < 16 ? na : 16)))
        differ++;
      runs++;
    }
    teardown(&h1);
    teardown(&hp);
    tw_threadpool_destroy(pool);
  }
  CHECK_MSG(differ == 0 && runs == 120, "best-of with a pool: %d of %d runs differ", differ, runs);
}

/* ---- initial tokens, no_speech with a prompt, bad input ---------------- */

static void nospeech_script(void *user, const sc_view *v, float *l) {
  (void)user;
  sc_fill(l, -INFINITY);
  if (v->hist[v->n_hist - 1] == SC_SOT) {
    l[SC_NO_SPEECH] = 0; /* 1 : 4 against token 9 */
    l[9] = logf(4.0f);
  } else {
    l[SC_TB] = 0;
    l[SC_EOT] = 0;
  }
}

static void test_prompt_and_nospeech(void) {
  tw_decode_tokens ids = sc_tokens(1);
  int32_t prompt[300], out[240];
  for (int i = 0; i < 300; i++) prompt[i] = i % 50;
  int n, sot;
  /* The last 223 prompt tokens after <|startofprev|>, then sot, lang, task. */
  CHECK(tw_initial_tokens(&ids, SC_LANG0 + 1, 1, 0, prompt, 300, SC_CTX, out, &n, &sot, NULL) ==
        TW_OK);
  CHECK(n == 227 && sot == 224 && out[0] == SC_SOT_PREV && out[1] == prompt[77] &&
        out[223] == prompt[299]);
  CHECK(out[224] == SC_SOT && out[225] == SC_LANG0 + 1 && out[226] == SC_TRANSLATE);
  /* English-only: the SOT sequence is [sot] alone (+ notimestamps). */
  tw_decode_tokens en = sc_tokens(0);
  CHECK(tw_initial_tokens(&en, 0, 0, 1, prompt, 2, SC_CTX, out, &n, &sot, NULL) == TW_OK);
  CHECK(n == 5 && sot == 3 && out[0] == SC_SOT_PREV && out[3] == SC_SOT && out[4] == SC_NO_TS);
  CHECK(tw_initial_tokens(&ids, 5, 0, 0, NULL, 0, SC_CTX, out, &n, &sot, NULL) == TW_EINVAL);

  harness h;
  setup(&h, nospeech_script, NULL, 1, 2);
  CHECK(tw_initial_tokens(&ids, SC_LANG0, 0, 0, prompt, 5, SC_CTX, h.init, &h.n_init, &h.sot_index,
                          NULL) == TW_OK);
  tw_decode_options o;
  tw_decode_options_init(&o);
  tw_decode_result r;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_OK);
  CHECK_MSG(fabs(r.no_speech_prob - 0.2) < 1e-9, "no_speech %g",
            r.no_speech_prob); /* read at SOT, not at the end */
  CHECK(r.n_tokens == 1 && r.tokens[0] == SC_TB && !strcmp(r.text, ""));

  /* Options OpenAI rejects, and a group larger than the decoder holds. */
  o.best_of = 2; /* at T = 0 */
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_EINVAL);
  tw_decode_options_init(&o);
  o.temperature = 1;
  o.best_of = 3;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_EINVAL);
  tw_decode_options_init(&o);
  o.beam_size = 2;
  o.length_penalty = 1.5;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_EINVAL);
  o.length_penalty = NAN;
  o.patience = 0.2; /* round(0.4) = 0 candidates */
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, NULL) == TW_EINVAL);
  teardown(&h);
}

static int abort_after(void *user) { return --*(int *)user < 0; }

static void test_abort_and_failures(void) {
  harness h;
  setup(&h, sample_script, NULL, 1, 1);
  int budget = 2; /* the prefill and one step, then stop */
  tw_window_decoder_set_abort(h.dec, abort_after, &budget);
  tw_decode_options o;
  tw_decode_options_init(&o);
  o.temperature = 0;
  tw_decode_result r;
  tw_errbuf err;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, &err) == TW_EABORTED);
  tw_window_decoder_set_abort(h.dec, NULL, NULL);
  /* A source that breaks the protocol fails the window with its message. */
  h.src.audio_set = 0;
  CHECK(tw_decode_window(h.dec, &o, h.init, h.n_init, h.sot_index, &r, &err) == TW_EINVAL);
  CHECK(strstr(err.msg, "decode before set_audio") != NULL);
  h.src.violation[0] = '\0';
  teardown(&h);

  /* Every allocation of the decoder can fail cleanly. */
  scripted_source src;
  sc_init(&src, sample_script, NULL);
  tw_logit_filters f = {.ids = sc_tokens(1)};
  tw_token_text tt = sc_text();
  int failures = 0;
  for (long k = 1; k < 60; k++) {
    tw_window_decoder *d = NULL;
    tw_mem_fail_after(k);
    int rc = tw_window_decoder_create(&src.iface, &f, &tt, SC_CTX, 3, &d, NULL);
    tw_mem_fail_after(0);
    if (rc == TW_ENOMEM)
      failures++;
    else
      CHECK(rc == TW_OK && d);
    tw_window_decoder_destroy(d);
  }
  CHECK(failures > 10);

  /* Patience 3 needs room for 6 finished beams: grown before the first
   * step, and a failed growth leaves the decoder usable. */
  harness h2;
  setup(&h2, beam_tie_script, NULL, 0, 2);
  tw_decode_options o2;
  tw_decode_options_init(&o2);
  o2.beam_size = 2;
  o2.patience = 3.0;
  tw_mem_fail_after(1);
  CHECK(tw_decode_window(h2.dec, &o2, h2.init, h2.n_init, h2.sot_index, &r, NULL) == TW_ENOMEM);
  tw_mem_fail_after(0);
  CHECK(h2.src.n_decode == 0); /* nothing was sent to the source */
  CHECK(tw_decode_window(h2.dec, &o2, h2.init, h2.n_init, h2.sot_index, &r, NULL) == TW_OK);
  CHECK(r.n_tokens == 2 && r.tokens[0] == 10 && r.tokens[1] == 20);
  teardown(&h2);

  /* Language identification needs a multilingual vocabulary. */
  tw_decode_tokens en = sc_tokens(0);
  double probs[3];
  int best;
  CHECK(tw_window_detect_language(&src.iface, &en, probs, &best, NULL) == TW_EUNSUPPORTED);
}

int main(void) {
  test_greedy();
  test_beam_ties();
  test_beam_finalize();
  test_rank();
  test_sampling_distribution();
  test_best_of_reproducible();
  test_prompt_and_nospeech();
  test_abort_and_failures();
  return tw_test_finish("test_decoding");
}

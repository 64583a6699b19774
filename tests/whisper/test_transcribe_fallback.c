/* Temperature fallback, the no-speech skip and the prompt reset of the
 * window loop, against scripted windows whose attempts are told apart (each
 * attempt is a new prefill). A plan "with decoys" gives every chosen token
 * log-probability about -2.82 (avg_logprob about -2.3 < -1: fails); a repetitive plan
 * compresses 4.54:1 (> 2.4: fails); a plain plan has log-probability 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scripted_plan.h"
#include "tw_test.h"
#include "whisper/transcribe.h"

#define END -1
#define TS(cs) SC_TS(cs)

static const char *const codes[3] = {"en", "de", "fr"};

typedef struct run {
  world w;
  scripted_source src;
  tw_loop_options o;
  tw_transcript t;
} run;

static run *run_new(void) {
  run *r = calloc(1, sizeof *r);
  world_init(&r->w);
  tw_loop_options_init(&r->o);
  r->o.language = "en";
  r->o.language_codes = codes;
  return r;
}

static int run_go(run *r, int64_t content) {
  sc_init(&r->src, world_script, &r->w);
  tw_decode_tokens ids = sc_tokens(1);
  tw_token_text tt = sc_text();
  float *mel = sc_mel(content);
  int rc =
      tw_transcribe_loop(&r->src.iface, &ids, &tt, mel, SC_N_MELS, content, &r->o, &r->t, NULL, NULL);
  free(mel);
  CHECK_MSG(r->src.violation[0] == '\0', "protocol: %s", r->src.violation);
  CHECK(r->w.unknown_window == 0 && r->w.bad_padding == 0);
  return rc;
}

static void run_free(run *r) {
  tw_transcript_clear(&r->t);
  free(r);
}

/* <|0.00|> then " a" 30 times: "a a ... a", 59 bytes.
 * python3 -c 'import zlib; b=("a"+" a"*29).encode(); print(len(b)/len(zlib.compress(b)))'
 * -> 4.538461538461538 */
static void repetitive(int32_t *p, int close_at_10s) {
  int n = 0;
  p[n++] = TS(0);
  for (int i = 0; i < 30; i++) p[n++] = 0;
  if (close_at_10s) {
    p[n++] = TS(1000);
    p[n++] = TS(1000);
  }
  p[n] = END;
}

static void test_fallback_by_compression(void) {
  run *r = run_new();
  int32_t rep[40];
  repetitive(rep, 0);
  /* Attempt 0 (T 0) repeats itself; attempt 1 (T 0.2) closes a pair at
   * <2.00>: segment [0, 2], seek 400. 0.2 <= 0.5, so the prompt stays. */
  int a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, rep);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 3, TS(200), TS(200), END});
  int b = world_window(&r->w, 200, -INFINITY);
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 4, END});
  CHECK(run_go(r, 1000) == TW_OK);
  CHECK(r->w.attempts[0] == 2 && r->w.attempts[1] == 1);
  CHECK(r->t.n_segments == 2);
  const tw_segment *s = &r->t.segments[0];
  CHECK(s->temperature == 0.2 && !strcmp(s->text, " d") && s->start == 0.0 &&
        fabs(s->end - 2.0) < 1e-12);
  /* python3 -c 'import zlib; b=b"d"; print(len(b)/len(zlib.compress(b)))' -> 1/9 */
  CHECK(s->compression_ratio == 0.1111111111111111);
  /* Window 1 (800 frames from 2.00 s): one segment to its end, 10.00 s. */
  CHECK(r->t.segments[1].seek == 200 && fabs(r->t.segments[1].start - 2.0) < 1e-12 &&
        fabs(r->t.segments[1].end - 10.0) < 1e-12 && r->t.segments[1].temperature == 0);
  const int32_t p1[] = {SC_SOT_PREV, TS(0), 3, TS(200), SC_SOT, SC_LANG0, SC_TRANSCRIBE};
  CHECK(r->w.n_prompt[1] == 7 && !memcmp(r->w.prompt[1], p1, sizeof p1));
  run_free(r);
}

static void test_fallback_by_logprob_and_reset(void) {
  run *r = run_new();
  int32_t rep[40];
  repetitive(rep, 1);
  /* Attempts at T 0, .2, .4, .6, .8 all have decoys (avg about -2.3); the
   * last, T 1.0, repeats itself: it fails too but is kept. Its segment
   * [0, 10] has temperature 1.0 > 0.5, so window 1 gets no prompt. */
  int a = world_window(&r->w, 0, -INFINITY);
  for (int k = 0; k < 5; k++) world_plan(&r->w, a, 1, (const int32_t[]){TS(0), 3, 4, TS(600), END});
  world_plan(&r->w, a, 0, rep);
  int b = world_window(&r->w, 1000, -INFINITY);
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 5, TS(100), END});
  CHECK(run_go(r, 4000) == TW_OK);
  CHECK(r->w.attempts[0] == 6 && r->w.attempts[1] == 1);
  CHECK(r->t.n_segments == 2);
  const tw_segment *s = &r->t.segments[0];
  CHECK(s->temperature == 1.0 && s->n_tokens == 32 && s->compression_ratio == 4.538461538461538);
  CHECK(fabs(s->end - 10.0) < 1e-12);
  CHECK(r->w.n_prompt[1] == 3 && r->w.prompt[1][0] == SC_SOT); /* reset: no <|startofprev|> */
  /* Window 1: one timestamp <1.00> -> [10, 11]. */
  CHECK(fabs(r->t.segments[1].start - 10.0) < 1e-12 && fabs(r->t.segments[1].end - 11.0) < 1e-12);

  /* Schedule 0, 0.25, 0.5, 0.75, 1.0 (increment 0.25): the third attempt,
   * T = 0.5, passes. 0.5 is not above 0.5, so the prompt is kept. */
  tw_transcript_clear(&r->t);
  world_init(&r->w);
  r->o.temperature_increment = 0.25;
  a = world_window(&r->w, 0, -INFINITY);
  for (int k = 0; k < 2; k++) world_plan(&r->w, a, 1, (const int32_t[]){TS(0), 3, 4, TS(600), END});
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 6, TS(1000), TS(1000), END});
  b = world_window(&r->w, 1000, -INFINITY);
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 5, TS(100), END});
  CHECK(run_go(r, 4000) == TW_OK);
  CHECK(r->w.attempts[0] == 3 && r->t.segments[0].temperature == 0.5);
  CHECK(r->w.n_prompt[1] == 7 && r->w.prompt[1][0] == SC_SOT_PREV);

  /* condition_on_previous_text off: no prompt even after a cold window. */
  tw_transcript_clear(&r->t);
  world_init(&r->w);
  r->o.condition_on_previous_text = 0;
  a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 6, TS(1000), TS(1000), END});
  b = world_window(&r->w, 1000, -INFINITY);
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 5, TS(100), END});
  CHECK(run_go(r, 4000) == TW_OK);
  CHECK(r->w.attempts[0] == 1 && r->w.n_prompt[1] == 3);

  /* No fallback at all (increment 0): the failing T 0 result is kept. */
  tw_transcript_clear(&r->t);
  world_init(&r->w);
  r->o.condition_on_previous_text = 1;
  r->o.temperature_increment = 0;
  a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 1, (const int32_t[]){TS(0), 3, 4, TS(600), END});
  CHECK(run_go(r, 1000) == TW_OK);
  /* Four tokens at -log(1 + 16 e^-0.01) each; the EOT after <6.00> has no
   * decoy left (text is masked after an opening timestamp): 4 lp / 5. */
  double want = -4 * log(1 + 16 * exp(-0.01)) / 5;
  CHECK_MSG(r->w.attempts[0] == 1 && r->t.n_segments == 1 &&
                fabs(r->t.segments[0].avg_logprob - want) < 1e-5,
            "%d attempts, %d segments", r->w.attempts[0], r->t.n_segments);
  run_free(r);
}

static void test_no_speech(void) {
  run *r = run_new();
  /* Window 0: nospeech logit log 4 against token 0 at 0 -> p = 0.8 > 0.6,
   * and avg_logprob about -2.3 < -1: silence. No fallback is tried (the
   * silence rule clears it), no segment, seek += 3000, no prompt. */
  int a = world_window(&r->w, 0, logf(4.0f));
  world_plan(&r->w, a, 1, (const int32_t[]){TS(0), 3, 4, TS(600), END});
  /* Window 1: the same no-speech probability, but avg_logprob 0 > -1: kept. */
  int b = world_window(&r->w, 3000, logf(4.0f));
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 3, END});
  CHECK(run_go(r, 3500) == TW_OK);
  CHECK(r->w.attempts[0] == 1 && r->w.attempts[1] == 1);
  CHECK(r->t.n_segments == 1);
  const tw_segment *s = &r->t.segments[0];
  CHECK(s->seek == 3000 && fabs(s->start - 30.0) < 1e-12 && fabs(s->end - 35.0) < 1e-12);
  CHECK(fabs(s->no_speech_prob - 0.8) < 1e-6);
  CHECK(r->w.n_prompt[1] == 3);
  CHECK(!strcmp(r->t.text, " d"));

  /* Without a no-speech threshold the silent window is decoded (and, its
   * logprob failing, goes through the whole fallback schedule). */
  tw_transcript_clear(&r->t);
  world_init(&r->w);
  r->o.no_speech_threshold = NAN;
  a = world_window(&r->w, 0, logf(4.0f));
  world_plan(&r->w, a, 1, (const int32_t[]){TS(0), 3, 4, TS(600), END});
  CHECK(run_go(r, 1000) == TW_OK);
  CHECK(r->w.attempts[0] == 6 && r->t.n_segments >= 1);
  run_free(r);
}

static void test_beam_and_best_of_in_loop(void) {
  /* beam_size at T = 0, best_of at T > 0: the repetitive T 0 attempt runs
   * 2 beams, the T 0.2 retry 3 samples. */
  run *r = run_new();
  r->o.beam_size = 2;
  r->o.best_of = 3;
  int32_t rep[40];
  repetitive(rep, 0);
  int a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, rep);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 3, TS(200), END});
  CHECK(run_go(r, 1000) == TW_OK);
  CHECK(r->w.attempts[0] == 2 && r->t.n_segments == 1 && r->t.segments[0].temperature == 0.2);
  CHECK(r->src.max_seq == 3 && r->src.n_prefill == 2);
  CHECK(!strcmp(r->t.segments[0].text, " d"));
  run_free(r);
}

int main(void) {
  test_fallback_by_compression();
  test_fallback_by_logprob_and_reset();
  test_no_speech();
  test_beam_and_best_of_in_loop();
  return tw_test_finish("test_transcribe_fallback");
}

/* The window loop against scripted windows (no model): seek over several
 * windows, segment times and texts, single-timestamp ending, the prompt
 * carried between windows, initial_prompt, clean-up of blank segments,
 * without_timestamps on an English-only model, language detection, abort,
 * the token budget, bad input and allocation failures. Expected seeks, times
 * and prompts are worked out by hand from the scripted tokens with the rules
 * of whisper/transcribe.py (comments give the arithmetic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
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
  double probs[3];
  int seg_ids[32], n_seg_cb;
  double progress[32];
  int n_progress;
  int abort_after_segments;
} run;

static void on_segment(void *user, const tw_segment *s) {
  run *r = user;
  if (r->n_seg_cb < 32) r->seg_ids[r->n_seg_cb] = s->id;
  r->n_seg_cb++;
}

static void on_progress(void *user, double f) {
  run *r = user;
  if (r->n_progress < 32) r->progress[r->n_progress++] = f;
}

static int should_abort(void *user) {
  run *r = user;
  return r->abort_after_segments > 0 && r->n_seg_cb >= r->abort_after_segments;
}

static void run_init(run *r) {
  memset(r, 0, sizeof *r);
  world_init(&r->w);
  tw_loop_options_init(&r->o);
  r->o.language = "en";
  r->o.language_codes = codes;
  r->o.on_segment = on_segment;
  r->o.on_progress = on_progress;
  r->o.should_abort = should_abort;
  r->o.user = r;
}

static int run_go(run *r, int64_t content, tw_errbuf *err) {
  sc_init(&r->src, world_script, &r->w);
  tw_decode_tokens ids = sc_tokens(!r->w.english_only);
  tw_token_text tt = sc_text();
  float *mel = sc_mel(content);
  int rc =
      tw_transcribe_loop(&r->src.iface, &ids, &tt, mel, SC_N_MELS, content, &r->o, &r->t, r->probs, err);
  free(mel);
  CHECK_MSG(r->src.violation[0] == '\0', "protocol: %s", r->src.violation);
  CHECK(r->w.unknown_window == 0 && r->w.bad_padding == 0);
  return rc;
}

static void check_segment(const tw_transcript *t, int i, int64_t seek, double start, double end,
                          const char *text, int n_tokens) {
  if (i >= t->n_segments) {
    CHECK_MSG(0, "segment %d missing", i);
    return;
  }
  const tw_segment *s = &t->segments[i];
  CHECK_MSG(s->id == i && s->seek == seek, "segment %d: id %d seek %lld", i, s->id,
            (long long)s->seek);
  CHECK_MSG(fabs(s->start - start) < 1e-9 && fabs(s->end - end) < 1e-9, "segment %d: %.3f-%.3f", i,
            s->start, s->end);
  CHECK_MSG(!strcmp(s->text, text), "segment %d: text \"%s\"", i, s->text);
  CHECK_MSG(s->n_tokens == n_tokens, "segment %d: %d tokens", i, s->n_tokens);
}

/* Three windows over 65 s (6500 frames). */
static void three_windows(world *w) {
  /* Window 0 at frame 0: pairs (end, next start) at index 3-4 and 6-7, the
   * text after the second pair has no end: segments [0, 5] and [6, 10]; seek
   * goes to the last closed end, (<10.00> - <0.00>) * 2 = 1000 frames (not
   * to the unfinished segment's start <11.00>). */
  int a = world_window(w, 0, -2.0f);
  world_plan(w, a, 0,
             (const int32_t[]){TS(0), 3, 4, TS(500), TS(600), 5, TS(1000), TS(1100), 6, 7, END});
  /* Window 1 at 1000 (10 s): a pair at index 2-3, then a lone <12.00> before
   * EOT: single_timestamp_ending, so [10+0, 10+4] and [10+4.5, 10+12] and
   * seek += 3000 -> 4000. */
  int b = world_window(w, 1000, -2.0f);
  world_plan(w, b, 0, (const int32_t[]){TS(0), 8, TS(400), TS(450), 9, TS(1200), END});
  /* Window 2 at 4000: 2500 content frames; no pair, the only timestamp is
   * <0.00>, so one segment of the window's 25 s: [40, 65]; seek 6500. */
  int c = world_window(w, 4000, -2.0f);
  world_plan(w, c, 0, (const int32_t[]){TS(0), 10, 11, END});
}

static void test_seek_over_windows(void) {
  run *r = calloc(1, sizeof *r);
  run_init(r);
  three_windows(&r->w);
  CHECK(run_go(r, 6500, NULL) == TW_OK);
  const tw_transcript *t = &r->t;
  CHECK(t->n_segments == 5 && !strcmp(t->language, "en"));
  check_segment(t, 0, 0, 0.0, 5.0, " d e", 4);
  check_segment(t, 1, 0, 6.0, 10.0, " f", 3);
  check_segment(t, 2, 1000, 10.0, 14.0, " i", 3);
  check_segment(t, 3, 1000, 14.5, 22.0, " j", 3);
  check_segment(t, 4, 4000, 40.0, 65.0, " k l", 3);
  CHECK(t->text && !strcmp(t->text, " d e f i j k l"));
  /* Window slices: 3000, 3000 and 2500 content frames, padded with 0.0. */
  CHECK(r->w.content[0] == 3000 && r->w.content[1] == 3000 && r->w.content[2] == 2500);
  /* The prompt of window 1 is window 0's segment tokens (the unfinished
   * tail from <11.00> on is not part of any segment). */
  const int32_t p1[] = {SC_SOT_PREV, TS(0),    3,      4,        TS(500),      TS(600),
                        5,           TS(1000), SC_SOT, SC_LANG0, SC_TRANSCRIBE};
  CHECK(r->w.n_prompt[1] == 11 && !memcmp(r->w.prompt[1], p1, sizeof p1));
  CHECK(r->w.n_prompt[2] == 17 && r->w.prompt[2][8] == TS(0) && r->w.prompt[2][13] == TS(1200));
  CHECK(r->w.n_prompt[0] == 3); /* no prompt: no <|startofprev|> */
  /* Segment fields and tokens. */
  const tw_segment *s0 = &t->segments[0];
  CHECK(s0->tokens[0].id == TS(0) && s0->tokens[0].bytes == NULL && s0->tokens[1].id == 3);
  CHECK(s0->tokens[1].n_bytes == 2 && !memcmp(s0->tokens[1].bytes, " d", 2));
  CHECK(fabs(s0->tokens[1].prob - 1.0) < 1e-6 && s0->temperature == 0 &&
        fabs(s0->avg_logprob) < 1e-6);
  CHECK(fabs(s0->no_speech_prob - exp(-2.0) / (1 + exp(-2.0))) <
        1e-6); /* {nospeech -2, token 0 at 0} */
  /* Callbacks: each segment once, in order; progress after each window. */
  CHECK(r->n_seg_cb == 5);
  for (int i = 0; i < 5; i++) CHECK(r->seg_ids[i] == i);
  CHECK(r->n_progress == 3 && fabs(r->progress[0] - 1000 / 6500.0) < 1e-12 &&
        fabs(r->progress[1] - 4000 / 6500.0) < 1e-12 && r->progress[2] == 1.0);
  CHECK(r->src.n_set_audio == 3);
  tw_transcript_clear(&r->t);
  free(r);
}

static void test_prompt_and_cleanup(void) {
  run *r = calloc(1, sizeof *r);
  run_init(r);
  const int32_t initial[] = {12, 13};
  r->o.initial_prompt = initial;
  r->o.n_initial_prompt = 2;
  /* A pair closes at index 3 and a lone <2.00> ends the window: segments
   * [0, 1] holding "  " (blank: cleared, no tokens) and [1, 2] " d". */
  int a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 41, TS(100), TS(100), 3, TS(200), END});
  CHECK(run_go(r, 1000, NULL) == TW_OK);
  check_segment(&r->t, 0, 0, 0.0, 1.0, "", 0);
  check_segment(&r->t, 1, 0, 1.0, 2.0, " d", 3);
  const int32_t p0[] = {SC_SOT_PREV, 12, 13, SC_SOT, SC_LANG0, SC_TRANSCRIBE};
  CHECK(r->w.n_prompt[0] == 6 && !memcmp(r->w.prompt[0], p0, sizeof p0));
  CHECK(!strcmp(r->t.text, " d")); /* the initial prompt is not part of the text */
  tw_transcript_clear(&r->t);

  /* English-only, without timestamps: SOT sequence [sot, notimestamps], one
   * segment per window over its whole duration (5 s). */
  run_init(r);
  r->w.english_only = r->w.without_ts = 1;
  r->o.language = NULL;
  r->o.language_codes = NULL;
  r->o.without_timestamps = 1;
  a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, (const int32_t[]){3, 4, END});
  CHECK(run_go(r, 500, NULL) == TW_OK);
  CHECK(!strcmp(r->t.language, "en") && r->t.n_segments == 1);
  check_segment(&r->t, 0, 0, 0.0, 5.0, " d e", 2);
  CHECK(r->w.n_prompt[0] == 2 && r->w.prompt[0][0] == SC_SOT && r->w.prompt[0][1] == SC_NO_TS);
  tw_transcript_clear(&r->t);
  free(r);
}

static void test_language_detection(void) {
  run *r = calloc(1, sizeof *r);
  for (int content = 1000; content <= 3000; content += 2000) {
    run_init(r);
    r->o.language = NULL;
    r->w.lang[0] = 0; /* en : de : fr = 1 : 3 : 1 */
    r->w.lang[1] = logf(3.0f);
    r->w.lang[2] = 0;
    int a = world_window(&r->w, 0, -INFINITY);
    world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 3, END});
    CHECK(run_go(r, content, NULL) == TW_OK);
    CHECK(!strcmp(r->t.language, "de"));
    CHECK(fabs(r->probs[0] - 0.2) < 1e-6 && fabs(r->probs[1] - 0.6) < 1e-6 &&
          fabs(r->probs[2] - 0.2) < 1e-6);
    CHECK(r->w.prompt[0][1] == SC_LANG0 + 1);
    /* Under 30 s detection sees the padded log-mel as computed (-0.5 here)
     * and the window is encoded again with 0.0 padding; a full first window
     * is the same input both times and is encoded once. */
    CHECK(r->src.n_set_audio == (content < 3000 ? 2 : 1));
    CHECK(r->w.detections == (content < 3000 ? 1 : 0));
    tw_transcript_clear(&r->t);
  }
  run_init(r);
  r->o.language = "xx";
  int a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 3, END});
  tw_errbuf err;
  CHECK(run_go(r, 1000, &err) == TW_EINVAL && strstr(err.msg, "xx"));
  CHECK(r->t.n_segments == 0 && r->t.segments == NULL);
  free(r);
}

static void test_abort(void) {
  run *r = calloc(1, sizeof *r);
  run_init(r);
  three_windows(&r->w);
  r->abort_after_segments = 2; /* window 0 makes two segments, then stop */
  CHECK(run_go(r, 6500, NULL) == TW_EABORTED);
  CHECK(r->t.n_segments == 2 && r->t.text && !strcmp(r->t.text, " d e f"));
  CHECK(r->w.attempts[1] == 0);
  tw_transcript_clear(&r->t);
  free(r);
}

static void test_budget(void) {
  run *r = calloc(1, sizeof *r);
  run_init(r);
  r->o.max_tokens_per_window = 4;
  /* The plan ends after 2 tokens, but EOT stays forbidden until 4 tokens:
   * the far second choice " b" (1) fills in; then the budget stops it. */
  int a = world_window(&r->w, 0, -INFINITY);
  world_plan(&r->w, a, 0, (const int32_t[]){TS(0), 3, END});
  int b = world_window(&r->w, 3000, -INFINITY);
  world_plan(&r->w, b, 0, (const int32_t[]){TS(0), 3, 4, 5, 6, 7, 8, END});
  CHECK(run_go(r, 3100, NULL) == TW_OK);
  CHECK(r->t.n_segments == 2);
  check_segment(&r->t, 0, 0, 0.0, 30.0, " d b b", 4);
  check_segment(&r->t, 1, 3000, 30.0, 31.0, " d e f", 4);
  tw_transcript_clear(&r->t);
  free(r);
}

static void test_bad_input_and_oom(void) {
  run *r = calloc(1, sizeof *r);
  run_init(r);
  sc_init(&r->src, world_script, &r->w);
  tw_decode_tokens ids = sc_tokens(1);
  tw_token_text tt = sc_text();
  float *mel = sc_mel(100);
  CHECK(tw_transcribe_loop(&r->src.iface, &ids, &tt, mel, SC_N_MELS + 1, 100, &r->o, &r->t, NULL,
                      NULL) == TW_EINVAL);
  const int32_t bad_prompt[] = {SC_VOCAB};
  r->o.initial_prompt = bad_prompt;
  r->o.n_initial_prompt = 1;
  CHECK(tw_transcribe_loop(&r->src.iface, &ids, &tt, mel, SC_N_MELS, 100, &r->o, &r->t, NULL, NULL) ==
        TW_ERANGE);
  r->o.n_initial_prompt = 0;
  CHECK(tw_transcribe_loop(&r->src.iface, &ids, &tt, mel, SC_N_MELS, -1, &r->o, &r->t, NULL, NULL) ==
        TW_EINVAL);
  free(mel);
  /* Every allocation of a full run can fail; the transcript is then empty. */
  int ok = 0, oom = 0;
  for (long k = 1; k < 400 && ok == 0; k++) {
    run_init(r);
    three_windows(&r->w);
    tw_mem_fail_after(k);
    int rc = run_go(r, 6500, NULL);
    tw_mem_fail_after(0);
    if (rc == TW_OK) {
      ok++;
      CHECK(r->t.n_segments == 5);
    } else {
      oom++;
      CHECK_MSG(rc == TW_ENOMEM && r->t.n_segments == 0 && r->t.text == NULL, "k %ld: rc %d", k,
                rc);
    }
    tw_transcript_clear(&r->t);
  }
  CHECK(ok == 1 && oom > 20);
  free(r);
}

int main(void) {
  test_seek_over_windows();
  test_prompt_and_cleanup();
  test_language_detection();
  test_abort();
  test_budget();
  test_bad_input_and_oom();
  return tw_test_finish("test_transcribe_loop");
}

/* OpenAI's logit filters on hand-built logits over the scripted test
 * vocabulary (text 0..49, EOT 50, SOT 51, languages 52..54, translate 55,
 * transcribe 56, startoflm 57, startofprev 58, nospeech 59, notimestamps 60,
 * <|0.00|> = 61 ... <|30.00|> = 1561). Each expected mask below is worked out
 * by hand from the rules in whisper/decoding.py, written as the id ranges that
 * must stay finite. */
#include <math.h>
#include <stdlib.h>

#include "core/mem.h"
#include "scripted_source.h"
#include "tw_test.h"
#include "whisper/logit_filters.h"

static float logits[SC_VOCAB];
static tw_decode_tokens ids;

/* Checks that exactly the ids in the given [lo, hi) ranges are finite. */
static void expect_finite(const char *what, const int (*ranges)[2], int n_ranges) {
  int bad = 0, first_bad = -1;
  for (int i = 0; i < SC_VOCAB; i++) {
    int want = 0;
    for (int r = 0; r < n_ranges; r++) want |= i >= ranges[r][0] && i < ranges[r][1];
    int finite = logits[i] != -INFINITY;
    if (want != finite) {
      if (!bad) first_bad = i;
      bad++;
    }
  }
  CHECK_MSG(bad == 0, "%s: %d ids wrong, first %d (%g)", what, bad, first_bad,
            first_bad >= 0 ? logits[first_bad] : 0.0);
}

static void test_suppress_blank(void) {
  sc_fill(logits, 1.0f);
  tw_filter_suppress_blank(&ids, logits, 0);
  /* First step: " " (7) and EOT (50) go. */
  const int first[][2] = {{0, 7}, {8, 50}, {51, SC_VOCAB}};
  expect_finite("blank at step 0", first, 3);
  sc_fill(logits, 1.0f);
  tw_filter_suppress_blank(&ids, logits, 1);
  const int later[][2] = {{0, SC_VOCAB}};
  expect_finite("blank at step 1", later, 1);
}

static void test_suppress_set(void) {
  const int32_t user[] = {-1, 3};
  const int32_t non_speech[] = {9, 3, 12};
  int32_t *set;
  int n;
  CHECK(tw_suppress_set_build(&ids, user, 2, non_speech, 3, &set, &n, NULL) == TW_OK);
  /* {3} + non-speech {9, 3, 12} + transcribe, translate, sot, sot_prev, sot_lm, no_speech. */
  const int32_t want[] = {3, 9, 12, 51, 55, 56, 57, 58, 59};
  CHECK(n == 9);
  for (int i = 0; i < 9 && i < n; i++) CHECK_MSG(set[i] == want[i], "set[%d] = %d", i, set[i]);
  sc_fill(logits, 0.0f);
  tw_filter_suppress_tokens(set, n, logits);
  const int kept[][2] = {{0, 3}, {4, 9}, {10, 12}, {13, 51}, {52, 55}, {60, SC_VOCAB}};
  expect_finite("suppress set", kept, 6);
  tw_free(set);

  /* Without -1 the non-speech list is not used. */
  const int32_t only5[] = {5};
  CHECK(tw_suppress_set_build(&ids, only5, 1, non_speech, 3, &set, &n, NULL) == TW_OK);
  CHECK(n == 7 && set[0] == 5 && set[1] == 51 && set[6] == 59);
  tw_free(set);
  /* An empty list suppresses nothing, not even the specials (OpenAI's "" ). */
  CHECK(tw_suppress_set_build(&ids, NULL, 0, non_speech, 3, &set, &n, NULL) == TW_OK);
  CHECK(n == 0 && set == NULL);
  const int32_t outside[] = {SC_VOCAB};
  CHECK(tw_suppress_set_build(&ids, outside, 1, NULL, 0, &set, &n, NULL) == TW_ERANGE);
  const int32_t neg[] = {-2};
  CHECK(tw_suppress_set_build(&ids, neg, 1, NULL, 0, &set, &n, NULL) == TW_ERANGE);
  tw_mem_fail_after(1);
  CHECK(tw_suppress_set_build(&ids, user, 2, non_speech, 3, &set, &n, NULL) == TW_ENOMEM);
  tw_mem_fail_after(0);
}

static void test_first_step(void) {
  /* Uniform logits, nothing sampled: a) drops 60, d) drops every id below 61
   * and every timestamp after <|1.00|> = 61 + 50. */
  sc_fill(logits, 0.0f);
  tw_filter_timestamp_rules(&ids, 50, logits, NULL, 0);
  const int first[][2] = {{61, 112}};
  expect_finite("first step, max 1.0 s", first, 1);
  /* No max_initial_timestamp: every timestamp may start. */
  sc_fill(logits, 0.0f);
  tw_filter_timestamp_rules(&ids, -1, logits, NULL, 0);
  const int any[][2] = {{61, SC_VOCAB}};
  expect_finite("first step, no limit", any, 1);
}

static void test_pairs_and_monotonic(void) {
  /* [<|0.00|>, text]: c) drops <|0.00|> (limit = 61 + 1), a) drops 60. Text
   * 3 at 10 beats the timestamps' mass log(1500) = 7.31, so e) keeps text. */
  const int32_t after_text[] = {61, 5};
  sc_fill(logits, 0.0f);
  logits[3] = 10.0f;
  tw_filter_timestamp_rules(&ids, 50, logits, after_text, 2);
  const int r1[][2] = {{0, 60}, {62, SC_VOCAB}};
  expect_finite("after text", r1, 2);

  /* [<|0.00|>, text, <|0.18|>=70]: an end timestamp was just opened, so b)
   * drops all text (< 50) and c) drops timestamps below 70 (70 itself may
   * close the pair). EOT at 10 beats log(1492) = 7.31, so e) does nothing. */
  const int32_t open_end[] = {61, 5, 70};
  sc_fill(logits, 0.0f);
  logits[SC_EOT] = 10.0f;
  tw_filter_timestamp_rules(&ids, 50, logits, open_end, 3);
  const int r2[][2] = {{50, 60}, {70, SC_VOCAB}};
  expect_finite("after one timestamp", r2, 2);

  /* [<|0.00|>, text, 70, 70]: a pair closed, b) drops every timestamp. */
  const int32_t closed[] = {61, 5, 70, 70};
  sc_fill(logits, 0.0f);
  tw_filter_timestamp_rules(&ids, 50, logits, closed, 4);
  const int r3[][2] = {{0, 60}};
  expect_finite("after a pair", r3, 1);

  /* [<|0.00|>] alone counts as a pair (penultimate of a 1-token list). */
  const int32_t single[] = {61};
  sc_fill(logits, 0.0f);
  tw_filter_timestamp_rules(&ids, 50, logits, single, 1);
  expect_finite("after the first timestamp", r3, 1);
}

static void test_mass_rule(void) {
  /* After [<|0.00|>, text]: timestamps 62 and 63 at logit 0 (others -inf)
   * have mass log(2) = 0.693147; text 3 at 0.69 loses, at 0.70 wins. */
  const int32_t seq[] = {61, 5};
  for (int k = 0; k < 2; k++) {
    sc_fill(logits, -INFINITY);
    logits[3] = k == 0 ? 0.69f : 0.70f;
    logits[62] = logits[63] = 0.0f;
    tw_filter_timestamp_rules(&ids, 50, logits, seq, 2);
    const int ts_only[][2] = {{62, 64}};
    const int both[][2] = {{3, 4}, {62, 64}};
    expect_finite(k == 0 ? "mass 0.6931 > 0.69" : "mass 0.6931 < 0.70", k == 0 ? ts_only : both,
                  k == 0 ? 1 : 2);
  }
}

static void test_order_and_budget(void) {
  /* The mass rule sees the logits after SuppressTokens: nospeech (59) at 100
   * is suppressed first, so the best text left is 0 < log(1500) and text
   * goes. Applied the other way round, 100 would have kept all text. */
  const int32_t seq[] = {61, 5};
  const int32_t sup[] = {59};
  tw_logit_filters f = {.ids = ids,
                        .suppress_blank = 1,
                        .suppress = sup,
                        .n_suppress = 1,
                        .timestamps = 1,
                        .max_initial_index = 50};
  sc_fill(logits, 0.0f);
  logits[59] = 100.0f;
  tw_logit_filters_apply(&f, logits, seq, 2);
  const int ts[][2] = {{62, SC_VOCAB}};
  expect_finite("suppress before the mass rule", ts, 1);

  /* Budget: EOT forbidden while fewer than 3 tokens are sampled. */
  tw_logit_filters b = {.ids = ids, .min_tokens = 3};
  const int32_t two[] = {5, 6}, three[] = {5, 6, 7};
  sc_fill(logits, 0.0f);
  tw_logit_filters_apply(&b, logits, two, 2);
  const int no_eot[][2] = {{0, 50}, {51, SC_VOCAB}};
  expect_finite("budget, 2 of 3", no_eot, 2);
  sc_fill(logits, 0.0f);
  tw_logit_filters_apply(&b, logits, three, 3);
  const int all[][2] = {{0, SC_VOCAB}};
  expect_finite("budget, 3 of 3", all, 1);
}

static void test_ids_check(void) {
  CHECK(tw_decode_tokens_check(&ids, NULL) == TW_OK);
  tw_decode_tokens bad = ids;
  bad.timestamp_begin = SC_VOCAB;
  CHECK(tw_decode_tokens_check(&bad, NULL) == TW_EINVAL);
  bad = ids;
  bad.lang_begin = 59; /* 3 languages would run into the timestamps' range */
  bad.n_languages = 10;
  CHECK(tw_decode_tokens_check(&bad, NULL) == TW_EINVAL);
}

int main(void) {
  ids = sc_tokens(1);
  test_suppress_blank();
  test_suppress_set();
  test_first_step();
  test_pairs_and_monotonic();
  test_mass_rule();
  test_order_and_budget();
  test_ids_check();
  return tw_test_finish("test_logit_filters");
}

/* Scripts for the window-loop tests: for each window (told apart by the
 * frame its mel starts at) and each decoding attempt of it, the tokens the
 * model "wants" to emit. At every step the planned token gets logit 0 and
 * everything else -inf, so greedy and sampling both follow the plan and every
 * chosen token has log-probability 0 — unless the plan asks for decoys: 16
 * competitors of the same kind at -0.01, which make each planned token's
 * log-probability -log(1 + 16 e^-0.01) = -2.8237 (a failing window). */
#ifndef TW_TEST_SCRIPTED_PLAN_H
#define TW_TEST_SCRIPTED_PLAN_H

#include "scripted_source.h"

#define PLAN_WINDOWS 8
#define PLAN_ATTEMPTS 6
#define PLAN_TOKENS 48

typedef struct plan {
  int32_t tok[PLAN_TOKENS];
  int n;
  int decoys;
} plan;

typedef struct world {
  int64_t seek[PLAN_WINDOWS]; /* window start frames, in order */
  int n_windows;
  plan plans[PLAN_WINDOWS][PLAN_ATTEMPTS]; /* attempt k uses plans[w][min(k, n_plans - 1)] */
  int n_plans[PLAN_WINDOWS];
  float no_speech[PLAN_WINDOWS]; /* logit of <|nospeech|> at SOT (against token 0 at 0) */
  float lang[3];                 /* language logits at SOT (default -inf) */
  int english_only, without_ts;  /* the SOT sequence the loop will use */
  /* What the script saw. */
  int attempts[PLAN_WINDOWS];
  int content[PLAN_WINDOWS];         /* content frames of the mel it was given (the rest 0.0) */
  int32_t prompt[PLAN_WINDOWS][256]; /* the initial tokens of the window's last attempt */
  int n_prompt[PLAN_WINDOWS];
  int unknown_window;
  int bad_padding;
  int detections;
} world;

void world_init(world *w);
/* Adds window `seek` and returns its index. */
int world_window(world *w, int64_t seek, float no_speech_logit);
/* Adds an attempt plan to window i from a -1-terminated token list. */
void world_plan(world *w, int i, int decoys, const int32_t *tokens);
void world_script(void *user, const sc_view *v, float *logits);

#endif

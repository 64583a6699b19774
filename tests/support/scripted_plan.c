#include "scripted_plan.h"

#include <math.h>
#include <string.h>

void world_init(world *w) {
  memset(w, 0, sizeof *w);
  for (int i = 0; i < 3; i++) w->lang[i] = -INFINITY;
}

int world_window(world *w, int64_t seek, float no_speech_logit) {
  int i = w->n_windows++;
  w->seek[i] = seek;
  w->no_speech[i] = no_speech_logit;
  return i;
}

void world_plan(world *w, int i, int decoys, const int32_t *tokens) {
  plan *p = &w->plans[i][w->n_plans[i]++];
  p->decoys = decoys;
  p->n = 0;
  while (tokens[p->n] >= 0) {
    p->tok[p->n] = tokens[p->n];
    p->n++;
  }
}

static void add_decoys(float *l, int32_t planned) {
  if (planned >= SC_TB) {
    for (int k = 1; k <= 16 && planned + k < SC_VOCAB; k++) l[planned + k] = -0.01f;
  } else {
    for (int k = 0; k < 16; k++)
      if (20 + k != planned) l[20 + k] = -0.01f;
  }
}

void world_script(void *user, const sc_view *v, float *l) {
  world *w = user;
  for (int i = 0; i < SC_VOCAB; i++) l[i] = -INFINITY;
  int sot = v->n_hist - 1;
  while (sot >= 0 && v->hist[sot] != SC_SOT) sot--;
  int wi = -1;
  for (int i = 0; i < w->n_windows; i++)
    if (w->seek[i] == v->window_seek) wi = i;
  if (sot == v->n_hist - 1) { /* the SOT position: languages and no-speech */
    l[0] = 0;
    for (int k = 0; k < 3; k++) l[SC_LANG0 + k] = w->lang[k];
    w->detections += v->detection && v->n_hist == 1;
    if (wi >= 0) l[SC_NO_SPEECH] = w->no_speech[wi];
    return;
  }
  if (wi < 0) {
    w->unknown_window++;
    l[SC_EOT] = 0;
    return;
  }
  int n_init = sot + 1 + (w->english_only ? 0 : 2) + (w->without_ts ? 1 : 0);
  if (v->n_hist < n_init) { /* language / task positions: unused */
    l[0] = 0;
    return;
  }
  int step = v->n_hist - n_init;
  if (step == 0 && v->row == 0) { /* the last prefill row: a new attempt */
    w->attempts[wi]++;
    w->content[wi] = v->window_content;
    w->bad_padding += v->detection; /* a decoded window is padded with 0.0 */
    w->n_prompt[wi] = n_init < 256 ? n_init : 256;
    memcpy(w->prompt[wi], v->hist, sizeof(int32_t) * (size_t)w->n_prompt[wi]);
  }
  int k = w->attempts[wi] - 1;
  if (k >= w->n_plans[wi]) k = w->n_plans[wi] - 1;
  const plan *p = &w->plans[wi][k < 0 ? 0 : k];
  int32_t want = step < p->n ? p->tok[step] : SC_EOT;
  l[want] = 0;
  /* A far second choice after the plan, so a token budget that forbids EOT
   * still leaves something to choose (its probability e^-30 is negligible). */
  if (step >= p->n) l[1] = -30.0f;
  if (p->decoys && step <= p->n) add_decoys(l, want);
}

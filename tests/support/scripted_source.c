#include "scripted_source.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int violate(scripted_source *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[200];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!s->violation[0]) snprintf(s->violation, sizeof s->violation, "%s", msg);
  snprintf(s->last_error, sizeof s->last_error, "protocol: %s", msg);
  return TW_EINVAL;
}

static int sc_set_audio(void *self, const float *mel) {
  scripted_source *s = self;
  s->n_set_audio++;
  s->audio_set = 1;
  s->valid_rows = 0;
  s->window_seek = mel[0] > 0 ? (int64_t)mel[0] - 1 : -1;
  s->window_content = 0;
  s->detection = 0;
  for (int f = 0; f < 3000; f++) {
    float v = mel[f];
    if (v > 0) {
      if (s->window_content != f || (int64_t)v != s->window_seek + f + 1)
        return violate(s, "window frame %d holds %g", f, v);
      s->window_content++;
    } else if (v == -0.5f) {
      s->detection = 1;
    } else if (v != 0.0f) {
      return violate(s, "window frame %d holds %g", f, v);
    }
    for (int m = 1; m < SC_N_MELS; m++)
      if (mel[m * 3000 + f] != v) return violate(s, "mel band %d differs at frame %d", m, f);
  }
  return 0;
}

static int sc_decode(void *self, int n_seq, int n_tok, const int32_t *tokens, int n_past,
                     int out_from, float *logits) {
  scripted_source *s = self;
  s->n_decode++;
  if (!s->audio_set) return violate(s, "decode before set_audio");
  if (n_seq < 1 || n_seq > SC_MAX_ROWS || n_tok < 1 || out_from < 0 || out_from >= n_tok)
    return violate(s, "decode(n_seq %d, n_tok %d, out_from %d)", n_seq, n_tok, out_from);
  if (n_past == 0) {
    if (n_seq != 1) return violate(s, "prefill of %d sequences", n_seq);
    s->n_prefill++;
    s->valid_rows = 1;
    s->len[0] = 0;
  } else {
    s->n_steps++;
    if (n_seq > s->valid_rows)
      return violate(s, "step of %d rows, %d filled", n_seq, s->valid_rows);
  }
  if (n_past + n_tok > SC_CTX) return violate(s, "%d positions exceed the context", n_past + n_tok);
  if (n_seq > s->max_seq) s->max_seq = n_seq;
  for (int r = 0; r < n_seq; r++) {
    if (s->len[r] != n_past) return violate(s, "row %d holds %d, n_past %d", r, s->len[r], n_past);
    for (int t = 0; t < n_tok; t++) {
      if (tokens[r * n_tok + t] < 0 || tokens[r * n_tok + t] >= SC_VOCAB)
        return violate(s, "token %d", tokens[r * n_tok + t]);
      s->hist[r][s->len[r]++] = tokens[r * n_tok + t];
    }
    for (int t = out_from; t < n_tok; t++) {
      sc_view v = {s->window_seek, s->window_content, s->detection, s->hist[r], n_past + t + 1, r};
      float *row =
          logits + ((size_t)r * (size_t)(n_tok - out_from) + (size_t)(t - out_from)) * SC_VOCAB;
      s->script(s->user, &v, row);
    }
  }
  /* A step of fewer rows than filled leaves the others stale. */
  if (n_past > 0) s->valid_rows = n_seq;
  return 0;
}

static int sc_reorder(void *self, int n_seq, const int *src, int n_past) {
  scripted_source *s = self;
  s->n_reorder++;
  if (n_seq < 1 || n_seq > SC_MAX_ROWS) return violate(s, "reorder of %d rows", n_seq);
  static int32_t tmp[SC_MAX_ROWS][SC_CTX];
  for (int i = 0; i < n_seq; i++) {
    if (src[i] < 0 || src[i] >= s->valid_rows) return violate(s, "reorder from row %d", src[i]);
    if (s->len[src[i]] < n_past)
      return violate(s, "reorder keeps %d of %d", n_past, s->len[src[i]]);
    memcpy(tmp[i], s->hist[src[i]], sizeof(int32_t) * (size_t)n_past);
  }
  for (int i = 0; i < n_seq; i++) {
    memcpy(s->hist[i], tmp[i], sizeof(int32_t) * (size_t)n_past);
    s->len[i] = n_past;
  }
  s->valid_rows = n_seq;
  return 0;
}

static const char *sc_last_error(void *self) { return ((scripted_source *)self)->last_error; }

void sc_init(scripted_source *s, sc_script_fn script, void *user) {
  memset(s, 0, sizeof *s);
  s->iface.self = s;
  s->iface.n_vocab = SC_VOCAB;
  s->iface.n_mels = SC_N_MELS;
  s->iface.set_audio = sc_set_audio;
  s->iface.decode = sc_decode;
  s->iface.reorder = sc_reorder;
  s->iface.last_error = sc_last_error;
  s->script = script;
  s->user = user;
}

tw_decode_tokens sc_tokens(int multilingual) {
  tw_decode_tokens t = {.n_vocab = SC_VOCAB,
                        .multilingual = multilingual,
                        .eot = SC_EOT,
                        .sot = SC_SOT,
                        .sot_prev = SC_SOT_PREV,
                        .sot_lm = SC_SOT_LM,
                        .no_speech = SC_NO_SPEECH,
                        .no_timestamps = SC_NO_TS,
                        .transcribe = SC_TRANSCRIBE,
                        .translate = SC_TRANSLATE,
                        .timestamp_begin = SC_TB,
                        .lang_begin = SC_LANG0,
                        .n_languages = 3,
                        .blank = SC_BLANK};
  return t;
}

/* 0..25: " a" .. " z"; 26..35: "0".."9"; then pieces of multi-byte UTF-8. */
static char words[50][8];

const char *sc_word(int id) {
  if (!words[0][0]) {
    for (int i = 0; i < 26; i++) snprintf(words[i], sizeof words[i], " %c", 'a' + i);
    for (int i = 0; i < 10; i++) snprintf(words[26 + i], sizeof words[26 + i], "%c", '0' + i);
    strcpy(words[36], "\xC3\xA9"); /* é */
    strcpy(words[37], "\xE2\x99"); /* first two bytes of ♪ (E2 99 AA) */
    strcpy(words[38], "\xAA");     /* its last byte */
    strcpy(words[39], ".");
    strcpy(words[40], ",");
    strcpy(words[41], "  ");
    for (int i = 42; i < 50; i++) snprintf(words[i], sizeof words[i], " w%d", i);
  }
  return words[id];
}

static const char *sc_bytes(void *self, int32_t id, size_t *n) {
  (void)self;
  if (id < 0 || id >= SC_EOT) return NULL;
  const char *w = sc_word(id);
  *n = strlen(w);
  return w;
}

tw_token_text sc_text(void) {
  tw_token_text t = {NULL, sc_bytes};
  return t;
}

float *sc_mel(int64_t content) {
  int64_t total = content + 3000;
  float *m = malloc(sizeof(float) * SC_N_MELS * (size_t)total);
  for (int b = 0; b < SC_N_MELS; b++)
    for (int64_t f = 0; f < total; f++) m[b * total + f] = f < content ? (float)(f + 1) : -0.5f;
  return m;
}

void sc_fill(float *logits, float base) {
  for (int i = 0; i < SC_VOCAB; i++) logits[i] = base;
}

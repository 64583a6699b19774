/* A tw_logits_source without a model, for testing the decoding rules.
 *
 * It keeps each cache row's token history the way a real KV cache would and
 * asks a test-supplied script for the next-token logits of a row, given the
 * row's whole history and the window it is on. It also checks the protocol
 * the decoding loop must follow and fails the call (and records why) when it
 * is broken: audio set before decoding; a prefill of one sequence from n_past
 * 0; rows stepped only after reorder() fanned them out; n_past equal to what
 * each row holds; never more than n_ctx positions.
 *
 * A tiny Whisper-shaped vocabulary goes with it: 50 text tokens, the special
 * tokens in Whisper's order and all 1501 timestamps. */
#ifndef TW_TEST_SCRIPTED_SOURCE_H
#define TW_TEST_SCRIPTED_SOURCE_H

#include <stdint.h>

#include "whisper/logit_filters.h"
#include "whisper/logits_source.h"
#include "whisper/token_text.h"

#define SC_N_MELS 4
#define SC_MAX_ROWS 16
#define SC_CTX 448
#define SC_EOT 50
#define SC_SOT 51
#define SC_LANG0 52 /* en, de, fr */
#define SC_TRANSLATE 55
#define SC_TRANSCRIBE 56
#define SC_SOT_LM 57
#define SC_SOT_PREV 58
#define SC_NO_SPEECH 59
#define SC_NO_TS 60
#define SC_TB 61
#define SC_VOCAB (SC_TB + 1501)
#define SC_BLANK 7
#define SC_TS(sec100) (SC_TB + (sec100) / 2) /* timestamp token of a time in 10 ms units */

/* What the script sees for one row. */
typedef struct sc_view {
  int64_t window_seek; /* the window's first mel frame (decoded from the test mel) */
  int window_content;  /* its content frames (the rest was 0.0 padding) */
  int detection;       /* the window is language detection's (padding as computed) */
  const int32_t *hist; /* the row's tokens: prompt, SOT sequence, sampled tokens */
  int n_hist;
  int row;
} sc_view;

typedef void (*sc_script_fn)(void *user, const sc_view *v, float *logits);

typedef struct scripted_source {
  tw_logits_source iface;
  sc_script_fn script;
  void *user;
  int32_t hist[SC_MAX_ROWS][SC_CTX];
  int len[SC_MAX_ROWS];
  int valid_rows; /* rows holding a history */
  int64_t window_seek;
  int window_content;
  int detection;
  int audio_set;
  /* Counters and the first protocol violation. */
  int n_set_audio, n_decode, n_prefill, n_reorder, n_steps, max_seq;
  char violation[256];
  char last_error[256];
} scripted_source;

void sc_init(scripted_source *s, sc_script_fn script, void *user);

/* Token ids of the test vocabulary (multilingual with 3 languages, or English-only). */
tw_decode_tokens sc_tokens(int multilingual);

/* Text token i is the word w[i] below: bytes " a", " b", ... and a few
 * multi-byte ones; sc_text() gives the table. */
tw_token_text sc_text(void);
const char *sc_word(int id);

/* A test mel [SC_N_MELS][content + 3000]: content frame f holds f + 1, the
 * padding -0.5 (a log-mel of silence is not 0.0), so set_audio can tell
 * which window it got and how it was padded. Caller frees. */
float *sc_mel(int64_t content_frames);

/* Fills logits with `base` and sets logit[id] = value for the given pairs. */
void sc_fill(float *logits, float base);

#endif

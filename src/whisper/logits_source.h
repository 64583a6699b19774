/* What the decoding loop needs from a Whisper decoder: encode one window, run
 * the text decoder over a batch of sequences with a KV cache, and rearrange
 * the cache rows between steps (beam search, best-of fan-out).
 *
 * The decoding rules (src/whisper/decoding.c, transcribe.c) only ever talk to
 * this table, so they are tested against a scripted source without a model
 * and the real decoder plugs in unchanged. */
#ifndef TW_WHISPER_LOGITS_SOURCE_H
#define TW_WHISPER_LOGITS_SOURCE_H

#include <stdint.h>

struct tw_threadpool;

typedef struct tw_logits_source {
  void *self;
  /* Threads the decoding rules may use between calls (the rows of a batch
   * are filtered and sampled in parallel), or NULL: the caller's alone. */
  struct tw_threadpool *pool;
  int32_t n_vocab;
  int n_mels;
  /* One 30 s window's log-mel, [n_mels][3000] row-major (content frames, then 0.0 padding):
   * runs the encoder and computes every layer's cross-attention K/V once. */
  int (*set_audio)(void *self, const float *mel);
  /* Advances n_seq sequences by n_tok tokens each. tokens: [n_seq][n_tok] row-major. Every
   * sequence already has n_past positions cached; the new tokens take positions
   * n_past .. n_past+n_tok-1 and are cached too. Writes the logits of positions
   * n_past+out_from .. n_past+n_tok-1 of every sequence into
   * logits[n_seq][n_tok-out_from][n_vocab]. (Prefill: n_seq 1, n_tok = prompt length,
   * out_from = index of <|startoftranscript|> so no_speech_prob can be read at the SOT
   * position; steps: n_tok 1, out_from 0.) */
  int (*decode)(void *self, int n_seq, int n_tok, const int32_t *tokens, int n_past,
                int out_from, float *logits);
  /* Cache rows: afterwards sequence i holds what sequence src[i] held (first n_past
   * positions), for i < n_seq. Used to fan one prefilled prompt out to B beams/samples and
   * to reorder beams. Must not allocate. */
  int (*reorder)(void *self, int n_seq, const int *src, int n_past);
  /* Message of the last failure. */
  const char *(*last_error)(void *self);
} tw_logits_source;

#endif

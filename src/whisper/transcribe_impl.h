/* Internals of the window loop shared by transcribe.c (windows, fallback)
 * and transcribe_segments.c (cutting a window's tokens into segments). */
#ifndef TW_WHISPER_TRANSCRIBE_IMPL_H
#define TW_WHISPER_TRANSCRIBE_IMPL_H

#include "whisper/decoding.h"
#include "whisper/transcribe.h"

/* The loop's growing state: the transcript and OpenAI's all_tokens (the
 * initial prompt, then every segment's tokens), whose tail is the prompt. */
typedef struct tw_tx {
  const tw_decode_tokens *ids;
  const tw_token_text *text;
  tw_transcript *out;
  int32_t *all_tokens;
  int n_all, cap_all;
  int n_initial_prompt;
  void (*on_segment)(void *user, const tw_segment *seg);
  void *user;
} tw_tx;

int tw__tx_push_tokens(tw_tx *tx, const int32_t *tokens, int n, tw_errbuf *err);

/* Appends the segments of one decoded window (OpenAI's slicing at
 * consecutive timestamps, clean-up of empty ones), extends all_tokens and
 * returns the next seek in *seek. */
int tw__tx_add_window(tw_tx *tx, const tw_decode_result *r, int64_t *seek, int64_t segment_size,
                      tw_errbuf *err);

/* out->text = decode(all_tokens[len(initial_prompt):]). */
int tw__tx_finish_text(tw_tx *tx, tw_errbuf *err);

void tw__tx_free(tw_tx *tx);

#endif

/* The result of a transcription, as OpenAI's transcribe() returns it:
 * full text, language, and segments with their tokens and decoding figures. */
#ifndef TW_WHISPER_TRANSCRIPT_H
#define TW_WHISPER_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_token_info {
  int32_t id;
  float prob;        /* probability when it was chosen (softmax of the filtered logits) */
  const char *bytes; /* the token's bytes (not NUL-terminated), owned by the model's vocabulary;
                        NULL for special and timestamp tokens */
  size_t n_bytes;
} tw_token_info;

typedef struct tw_segment {
  int id;                  /* 0-based, in order */
  int64_t seek;            /* mel frame (10 ms) where the segment's window started */
  double start, end;       /* seconds */
  char *text;              /* UTF-8, NUL-terminated, owned by the transcript */
  tw_token_info *tokens;   /* timestamp tokens included, as OpenAI lists them; owned */
  int n_tokens;
  double temperature;
  double avg_logprob;
  double compression_ratio;
  double no_speech_prob;
} tw_segment;

typedef struct tw_transcript {
  char language[8];        /* "en", "de", ... */
  char *text;              /* all segments' text concatenated, as OpenAI's result["text"]; owned */
  tw_segment *segments;    /* owned */
  int n_segments;
  int cap_segments;
} tw_transcript;

/* Frees everything the transcript owns and zeroes it; NULL is a no-op. */
void tw_transcript_clear(tw_transcript *t);

#endif

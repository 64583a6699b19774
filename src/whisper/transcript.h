/* The result of a transcription, as OpenAI's transcribe() returns it:
 * full text, language, and segments with their tokens and decoding figures. */
#ifndef TW_WHISPER_TRANSCRIPT_H
#define TW_WHISPER_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

/* tw_token_info, tw_segment, tw_transcript and tw_transcript_clear are public
 * (include/tilewhisper/whisper.h). */
#include "tilewhisper/whisper.h"

#endif

/* Audio input: any file libsndfile decodes (WAV, FLAC, OGG, ...), mixed
 * down to mono and resampled to Whisper's 16 kHz with libsamplerate. */
#ifndef TW_WHISPER_AUDIO_H
#define TW_WHISPER_AUDIO_H

#include <stddef.h>

#include "core/error.h"

#define TW_SAMPLE_RATE 16000

/* Decodes path into *samples (n values in [-1, 1], mono, 16 kHz; allocated
 * with tw_malloc_aligned, the caller releases it with tw_free).  Channels
 * are averaged.  Returns 0, TW_EIO when the file cannot be opened,
 * TW_EAUDIO when it cannot be decoded or holds no samples, TW_ENOMEM. */
int tw_audio_load(const char *path, float **samples, size_t *n, tw_errbuf *err);

#endif

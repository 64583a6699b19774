/* Audio input: any file libsndfile decodes (WAV, FLAC, OGG, ...), mixed
 * down to mono and resampled to Whisper's 16 kHz with libsamplerate.
 *
 * Every input is opened exactly once: a regular file through its
 * descriptor (sf_open_fd), anything else (a pipe, a FIFO, standard input as
 * "-") read to its end into memory and decoded from there, because a stream
 * cannot be probed and reopened without losing what was read.  The library
 * never prints: a file whose data ends before the frame count its header
 * announces is decoded as far as it goes and reported through
 * tw_audio_info, for the caller to warn about. */
#ifndef TW_WHISPER_AUDIO_H
#define TW_WHISPER_AUDIO_H

#include <stddef.h>

#include "core/error.h"
#include "tilewhisper/whisper.h"

/* Longest input accepted by default (in the file's own time): 12 hours. */
#define TW_AUDIO_DEFAULT_MAX_SECONDS (12.0 * 3600.0)

typedef struct tw_audio_options {
  /* Refuse (TW_ERANGE) audio longer than this; 0 = the default.  Bounds the
   * memory a small compressed file can make the decoder allocate. */
  double max_seconds;
} tw_audio_options;

/* tw_audio_info (what was decoded, filled on success): whisper.h. */

/* Decodes path ("-" = standard input) into *samples (n values, mono, 16 kHz;
 * allocated with tw_malloc_aligned, the caller releases it with tw_free).
 * Channels are averaged; values beyond float range saturate at +-FLT_MAX.
 * opts and info may be NULL.  Returns 0; TW_EIO when the file cannot be
 * opened or read (the system's reason in the message); TW_EAUDIO when it is
 * a directory, empty, not audio, damaged, holds no frames or holds a NaN or
 * infinite sample (the message names the first one's time); TW_ERANGE when
 * longer than the limit; TW_ENOMEM. */
int tw_audio_load_ex(const char *path, const tw_audio_options *opts, float **samples, size_t *n,
                     tw_audio_info *info, tw_errbuf *err);

/* tw_audio_load_ex with default options and no info. */
int tw_audio_load(const char *path, float **samples, size_t *n, tw_errbuf *err);

/* The same decoding from size bytes of an audio file held in memory (read
 * through libsndfile's virtual I/O, never copied); name labels messages. */
int tw_audio_decode_memory(const void *data, size_t size, const char *name,
                           const tw_audio_options *opts, float **samples, size_t *n,
                           tw_audio_info *info, tw_errbuf *err);

#endif

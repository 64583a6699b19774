/* The decoding shared by every audio source (file descriptor, memory): an
 * open libsndfile handle to 16 kHz mono samples, and libsndfile's open
 * failures turned into messages a user can act on. */
#ifndef TW_WHISPER_AUDIO_DECODE_H
#define TW_WHISPER_AUDIO_DECODE_H

#include <sndfile.h>

#include "whisper/audio.h"

/* Reads every frame of sf (opened for reading with *sfinfo filled) into
 * *samples; the caller closes sf.  Arguments as tw_audio_load_ex. */
int tw_audio_decode_sf(SNDFILE *sf, const SF_INFO *sfinfo, const char *name,
                       const tw_audio_options *opts, float **samples, size_t *n,
                       tw_audio_info *info, tw_errbuf *err);

/* After sf_open_fd / sf_open_virtual returned NULL: TW_EAUDIO (or TW_EIO
 * for a system error) with a plain explanation and libsndfile's own text. */
int tw_audio_open_error(const char *name, tw_errbuf *err);

#endif

/* Whisper's log-mel spectrogram, as OpenAI's audio.log_mel_spectrogram with
 * padding = 30 s (what transcribe() and whisper.cpp compute):
 *
 *   x  = samples followed by 480000 zeros            (L = n + 480000)
 *   X  = STFT(x, n_fft 400, hop 160, periodic Hann, centred: reflect-pad
 *        200 samples at both ends), last frame dropped -> L / 160 frames
 *   S  = filters [n_mel, 201] . |X|^2
 *   y  = log10(max(S, 1e-10)); y = max(y, max(y) - 8); y = (y + 4) / 4
 *
 * max(y) is taken over the whole padded signal.  The encoder consumes
 * windows of 3000 frames (30 s); tw_mel_window() cuts window w. */
#ifndef TW_WHISPER_MEL_H
#define TW_WHISPER_MEL_H

#include <stddef.h>

#include "core/error.h"

#define TW_MEL_N_FFT 400
#define TW_MEL_N_BINS 201 /* n_fft / 2 + 1 */
#define TW_MEL_HOP 160
#define TW_MEL_PAD_SAMPLES 480000 /* 30 s of zeros appended */
#define TW_MEL_WINDOW_FRAMES 3000 /* frames per encoder window (30 s) */

typedef struct tw_mel tw_mel;

/* A mel context: copies the filter bank [n_mel, 201] (any alignment), plans
 * the FFT once and, for n_threads > 1, starts a pool that splits the frames
 * (results do not depend on n_threads).  One compute at a time per context. */
int tw_mel_create(const float *filters, int n_mel, int n_threads, tw_mel **out, tw_errbuf *err);
void tw_mel_destroy(tw_mel *mel); /* NULL-safe */

/* Frames of n samples: (n + 480000) / 160. */
size_t tw_mel_n_frames(size_t n_samples);

/* Log-mel of n samples (16 kHz mono) with 30 s of zeros appended.  *out is
 * [n_mel][*n_frames] row-major, allocated with tw_malloc_aligned; the caller
 * releases it with tw_free.  Any finite samples give finite values; a NaN or
 * infinite sample is refused (TW_EINVAL, naming its index and time). */
int tw_mel_compute(tw_mel *mel, const float *samples, size_t n, float **out, size_t *n_frames,
                   tw_errbuf *err);

/* Number of 3000-frame windows holding audio: ceil((n_frames - 3000) / 3000),
 * and 1 for exactly 3000 frames (less than one hop of audio, or none, is
 * one window of padding); 0 only below 3000 frames. */
size_t tw_mel_n_windows(size_t n_frames);

/* Copies window w (frames [3000 w, 3000 w + 3000)) of a [n_mel][n_frames]
 * log-mel into dst [n_mel][3000].  TW_ERANGE when w >= tw_mel_n_windows(). */
int tw_mel_window(const float *mel, int n_mel, size_t n_frames, size_t w, float *dst,
                  tw_errbuf *err);

/* The window at frame `seek` as OpenAI's transcribe() feeds the model: the
 * content frames [seek, seek + min(3000, content - seek)) of a log-mel from
 * tw_mel_compute (content = n_frames - 3000: the appended 30 s of zeros are
 * not content), padded with 0.0 (not with the log-mel of silence) to 3000
 * frames, into dst [n_mel][3000].  TW_ERANGE unless seek < content, except
 * that seek 0 of empty audio gives an all-zero window. */
int tw_mel_segment(const float *mel, int n_mel, size_t n_frames, size_t seek, float *dst,
                   tw_errbuf *err);

#endif

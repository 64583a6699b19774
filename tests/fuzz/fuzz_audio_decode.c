/* libFuzzer target for the audio path: each input is decoded in memory
 * through libsndfile's virtual I/O (as a pipe or standard input is), and
 * whatever decodes goes through the log-mel.  A success must give finite
 * samples and finite mel values; a failure must give nothing and say why.
 * Audio is capped at 10 s so that a tiny file announcing hours cannot make
 * the run about memory. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/mem.h"
#include "whisper/audio.h"
#include "whisper/mel.h"
#include "whisper/model.h"

static tw_mel *mel;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!mel) {
    static float filters[80 * TW_MEL_N_BINS];
    tw_mel_filters_slaney(80, filters);
    tw_errbuf e;
    if (tw_mel_create(filters, 80, 1, &mel, &e)) abort();
  }
  tw_audio_options opts = {.max_seconds = 10};
  tw_audio_info info;
  float *x = NULL;
  size_t n = 0;
  tw_errbuf err = {{0}};
  int rc = tw_audio_decode_memory(data, size, "fuzz", &opts, &x, &n, &info, &err);
  if (rc) {
    if (x || n || err.msg[0] == '\0') abort(); /* failures leave nothing, say why */
    return 0;
  }
  if (info.frames_read <= 0 || (info.truncated && info.frames_read >= info.header_frames)) abort();
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) abort();
  float *y = NULL;
  size_t frames = 0;
  if (tw_mel_compute(mel, x, n, &y, &frames, &err)) abort();
  /* frames past the audio are one constant, so the first ones past it
   * stand for all (checking every frame would dominate the run time) */
  size_t check = n / TW_MEL_HOP + 4 < frames ? n / TW_MEL_HOP + 4 : frames;
  for (int m = 0; m < 80; m++)
    for (size_t t = 0; t < check; t++)
      if (!isfinite(y[(size_t)m * frames + t])) abort();
  if (tw_mel_n_windows(frames) < 1) abort();
  tw_free(y);
  tw_free(x);
  return 0;
}

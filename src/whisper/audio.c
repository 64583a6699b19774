#include "whisper/audio.h"

#include <errno.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define READ_FRAMES 16384

/* Reads every frame of an open file, averaging its channels. */
static int read_mono(SNDFILE *sf, const SF_INFO *info, const char *path, float **out, size_t *n,
                     tw_errbuf *err) {
  size_t frames = (size_t)info->frames, ch = (size_t)info->channels, bytes;
  if (tw_mul3_size(READ_FRAMES, ch, sizeof(float), &bytes) || frames > SIZE_MAX / sizeof(float))
    return tw_err(err, TW_EAUDIO, "%s: %zu frames x %zu channels is too large", path, frames, ch);
  float *mono = tw_malloc_aligned(frames * sizeof(float));
  float *chunk = tw_malloc_aligned(bytes);
  if (!mono || !chunk) {
    tw_free(mono);
    tw_free(chunk);
    return tw_err(err, TW_ENOMEM, "%s: out of memory for %zu frames", path, frames);
  }
  size_t got = 0;
  while (got < frames) {
    sf_count_t want = (sf_count_t)(frames - got < READ_FRAMES ? frames - got : READ_FRAMES);
    sf_count_t k = sf_readf_float(sf, chunk, want);
    if (k <= 0) break;
    for (sf_count_t i = 0; i < k; i++) {
      double s = 0;
      for (size_t c = 0; c < ch; c++) s += chunk[(size_t)i * ch + c];
      mono[got + (size_t)i] = (float)(s / (double)ch);
    }
    got += (size_t)k;
  }
  tw_free(chunk);
  if (got == 0) {
    tw_free(mono);
    return tw_err(err, TW_EAUDIO, "%s: no audio samples could be read", path);
  }
  *out = mono;
  *n = got;
  return 0;
}

static int resample(const char *path, int rate, float **samples, size_t *n, tw_errbuf *err) {
  double ratio = (double)TW_SAMPLE_RATE / rate;
  if (!src_is_valid_ratio(ratio))
    return tw_err(err, TW_EAUDIO, "%s: sample rate %d Hz cannot be resampled to 16 kHz", path,
                  rate);
  size_t cap = (size_t)((double)*n * ratio) + 64;
  float *out = tw_malloc_aligned(cap * sizeof(float));
  if (!out) return tw_err(err, TW_ENOMEM, "%s: out of memory resampling", path);
  SRC_DATA d;
  memset(&d, 0, sizeof d);
  d.data_in = *samples;
  d.input_frames = (long)*n;
  d.data_out = out;
  d.output_frames = (long)cap;
  d.src_ratio = ratio;
  int e = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
  if (e) {
    tw_free(out);
    return tw_err(err, TW_EAUDIO, "%s: resampling %d Hz to 16 kHz failed: %s", path, rate,
                  src_strerror(e));
  }
  tw_free(*samples);
  *samples = out;
  *n = (size_t)d.output_frames_gen;
  return 0;
}

int tw_audio_load(const char *path, float **samples, size_t *n, tw_errbuf *err) {
  if (!samples || !n || !path) return tw_err(err, TW_EINVAL, "audio load: NULL argument");
  *samples = NULL;
  *n = 0;
  FILE *probe = fopen(path, "rb");
  if (!probe) return tw_err(err, TW_EIO, "%s: cannot open: %s", path, strerror(errno));
  fclose(probe);
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open(path, SFM_READ, &info);
  if (!sf) return tw_err(err, TW_EAUDIO, "%s: cannot decode audio: %s", path, sf_strerror(NULL));
  int rc = 0;
  if (info.frames <= 0 || info.channels <= 0 || info.samplerate <= 0)
    rc = tw_err(err, TW_EAUDIO, "%s: no audio (%lld frames, %d channels, %d Hz)", path,
                (long long)info.frames, info.channels, info.samplerate);
  else
    rc = read_mono(sf, &info, path, samples, n, err);
  sf_close(sf);
  if (rc == 0 && info.samplerate != TW_SAMPLE_RATE)
    rc = resample(path, info.samplerate, samples, n, err);
  if (rc) {
    tw_free(*samples);
    *samples = NULL;
    *n = 0;
  }
  return rc;
}

#include "whisper/audio_decode.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <samplerate.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define READ_FRAMES 4096

int tw_audio_open_error(const char *name, tw_errbuf *err) {
  const char *text = sf_strerror(NULL);
  switch (sf_error(NULL)) {
    case SF_ERR_UNRECOGNISED_FORMAT:
      return tw_err(err, TW_EAUDIO,
                    "%s: not an audio file: its first bytes match none of the formats "
                    "libsndfile reads (WAV, FLAC, OGG, AIFF, ...)",
                    name);
    case SF_ERR_SYSTEM:
      return tw_err(err, TW_EIO, "%s: cannot read the file: %s", name, text);
    case SF_ERR_UNSUPPORTED_ENCODING:
      return tw_err(err, TW_EAUDIO,
                    "%s: an audio file in an encoding this build cannot decode (libsndfile: %s)",
                    name, text);
    default: /* malformed, and libsndfile's many internal codes ("SF_INFO struct incomplete") */
      return tw_err(err, TW_EAUDIO,
                    "%s: a damaged or incomplete audio file: its header could not be read "
                    "(libsndfile: %s)",
                    name, text);
  }
}

/* The frame count the header announced.  libsndfile shortens a WAV or AIFF
 * data chunk that runs past the end of the file to what is there and only
 * notes it in its log ("data : 128000 (should be 59920)"), so the announced
 * count is recovered from that note; -1 when unknown. */
static long long header_frames(SNDFILE *sf, const SF_INFO *in) {
  if (in->frames <= 0 || in->frames == SF_COUNT_MAX) return -1;
  char log[8192] = "";
  sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
  for (const char *line = log; *line;) {
    long long said, real;
    if ((strncmp(line, "data :", 6) == 0 || strncmp(line, "SSND :", 6) == 0) &&
        sscanf(line + 6, "%lld (should be %lld)", &said, &real) == 2 && real > 0 && said > real)
      return (long long)((double)in->frames * (double)said / (double)real + 0.5);
    const char *next = strchr(line, '\n');
    if (!next) break;
    line = next + 1;
  }
  return (long long)in->frames;
}

/* Grows *buf (floats) to hold at least `need`, doubling. */
static int grow(float **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 16384;
  while (c < need) {
    if (c > SIZE_MAX / 2 / sizeof(float)) return -1;
    c *= 2;
  }
  float *p = tw_malloc_aligned(c * sizeof(float));
  if (!p) return -1;
  if (*buf) memcpy(p, *buf, *cap * sizeof(float));
  tw_free(*buf);
  *buf = p;
  *cap = c;
  return 0;
}

typedef struct reader {
  SNDFILE *sf;
  const char *name;
  int ch, rate;
  size_t max_frames;
  double *chunk; /* READ_FRAMES x ch */
  float *mono;
  size_t cap, got;
} reader;

/* Mixes k frames of r->chunk into r->mono, refusing a non-finite sample. */
static int mix(reader *r, size_t k, tw_errbuf *err) {
  for (size_t i = 0; i < k; i++) {
    double s = 0;
    for (int c = 0; c < r->ch; c++) {
      double v = r->chunk[i * (size_t)r->ch + (size_t)c];
      if (!isfinite(v))
        return tw_err(err, TW_EAUDIO,
                      "%s: sample %zu (at %.3f s, channel %d of %d) is %s: the audio holds "
                      "non-finite values",
                      r->name, r->got + i, (double)(r->got + i) / r->rate, c + 1, r->ch,
                      isnan(v) ? "NaN" : "infinite");
      s += v;
    }
    s /= r->ch;
    /* finite doubles beyond float range saturate rather than become inf */
    r->mono[r->got + i] = (float)(s > FLT_MAX ? FLT_MAX : s < -FLT_MAX ? -FLT_MAX : s);
  }
  r->got += k;
  return 0;
}

/* Reads to the end of the data (never trusting the header's count for the
 * allocation: a few bytes can announce billions of frames). */
static int read_all(reader *r, tw_errbuf *err) {
  for (;;) {
    sf_count_t k = sf_readf_double(r->sf, r->chunk, READ_FRAMES);
    if (k <= 0) return 0;
    if (r->got + (size_t)k > r->max_frames)
      return tw_err(err, TW_ERANGE, "%s: longer than the %.0f s limit", r->name,
                    (double)r->max_frames / r->rate);
    if (grow(&r->mono, &r->cap, r->got + (size_t)k))
      return tw_err(err, TW_ENOMEM, "%s: out of memory after %zu frames", r->name, r->got);
    int rc = mix(r, (size_t)k, err);
    if (rc) return rc;
  }
}

/* libsamplerate works in float: a signal near FLT_MAX would overflow inside
 * its filter, so it runs on the signal scaled by a power of two (exact) and
 * the result is scaled back, saturating at +-FLT_MAX. */
static int resample(const char *name, int rate, float **samples, size_t *n, tw_errbuf *err) {
  double ratio = (double)TW_SAMPLE_RATE / rate;
  if (!src_is_valid_ratio(ratio) || *n > (size_t)LONG_MAX / 256)
    return tw_err(err, TW_EAUDIO, "%s: sample rate %d Hz cannot be resampled to 16 kHz", name,
                  rate);
  float peak = 0;
  for (size_t i = 0; i < *n; i++) peak = fmaxf(peak, fabsf((*samples)[i]));
  int shift = 0;
  if (peak > 1.0f) frexpf(peak, &shift);
  for (size_t i = 0; shift && i < *n; i++) (*samples)[i] = ldexpf((*samples)[i], -shift);
  size_t cap = (size_t)((double)*n * ratio) + 64;
  float *out = tw_malloc_aligned(cap * sizeof(float));
  if (!out) return tw_err(err, TW_ENOMEM, "%s: out of memory resampling", name);
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
    return tw_err(err, TW_EAUDIO, "%s: resampling %d Hz to 16 kHz failed: %s", name, rate,
                  src_strerror(e));
  }
  for (long i = 0; shift && i < d.output_frames_gen; i++) {
    double v = ldexp(out[i], shift);
    out[i] = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
  }
  tw_free(*samples);
  *samples = out;
  *n = (size_t)d.output_frames_gen;
  return 0;
}

int tw_audio_decode_sf(SNDFILE *sf, const SF_INFO *in, const char *name,
                       const tw_audio_options *opts, float **samples, size_t *n,
                       tw_audio_info *info, tw_errbuf *err) {
  if (in->channels <= 0 || in->channels > 4096 || in->samplerate <= 0)
    return tw_err(err, TW_EAUDIO, "%s: a damaged audio header (%d channels, %d Hz)", name,
                  in->channels, in->samplerate);
  double max_s = opts && opts->max_seconds > 0 ? opts->max_seconds : TW_AUDIO_DEFAULT_MAX_SECONDS;
  double max_frames = max_s * in->samplerate;
  reader r = {.sf = sf, .name = name, .ch = in->channels, .rate = in->samplerate,
              .max_frames = max_frames < (double)(SIZE_MAX / 8) ? (size_t)max_frames
                                                                 : SIZE_MAX / 8};
  r.chunk = tw_malloc_aligned((size_t)READ_FRAMES * (size_t)r.ch * sizeof(double));
  int rc = r.chunk ? read_all(&r, err) : tw_err(err, TW_ENOMEM, "%s: out of memory", name);
  tw_free(r.chunk);
  if (rc == 0 && r.got == 0)
    rc = tw_err(err, TW_EAUDIO, "%s: holds no audio samples (its data is empty)", name);
  const size_t frames_read = r.got; /* in the file's rate, before resampling */
  if (rc == 0 && in->samplerate != TW_SAMPLE_RATE)
    rc = resample(name, in->samplerate, &r.mono, &r.got, err);
  if (rc) {
    tw_free(r.mono);
    return rc;
  }
  *samples = r.mono;
  *n = r.got;
  if (info) {
    long long said = header_frames(sf, in);
    *info = (tw_audio_info){.source_rate = in->samplerate, .channels = in->channels,
                            .header_frames = said, .frames_read = (long long)frames_read,
                            .truncated = said > 0 && (long long)frames_read < said};
  }
  return 0;
}

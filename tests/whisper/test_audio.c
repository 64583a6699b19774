/* Audio input: the real 16 kHz fixture, a stereo 44.1 kHz sine written
 * here with libsndfile, and files that are missing, empty or garbage. */
#define _POSIX_C_SOURCE 200809L

#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "tw_test.h"
#include "whisper/audio.h"

static void test_jfk(void) {
  float *x = NULL;
  size_t n = 0;
  tw_errbuf err = {{0}};
  int rc = tw_audio_load(tw_test_data("jfk.wav"), &x, &n, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK_MSG(n == 176000, "jfk.wav: %zu samples", n);
  float peak = 0;
  for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));
  CHECK(peak > 0.1f && peak <= 1.0f);
  tw_free(x);
}

/* Writes a stereo 44.1 kHz float WAV: left 0.8 sin, right 0.4 sin, f Hz. */
static int write_stereo(const char *path, double f, double seconds, int frames_override) {
  SF_INFO info = {0};
  info.samplerate = 44100;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
  if (!sf) return -1;
  int frames = frames_override >= 0 ? frames_override : (int)(seconds * 44100);
  float *buf = malloc(sizeof(float) * 2 * (size_t)(frames ? frames : 1));
  for (int i = 0; i < frames; i++) {
    double s = sin(6.283185307179586 * f * i / 44100.0);
    buf[2 * i] = (float)(0.8 * s);
    buf[2 * i + 1] = (float)(0.4 * s);
  }
  sf_count_t w = sf_writef_float(sf, buf, frames);
  free(buf);
  sf_close(sf);
  return w == frames ? 0 : -1;
}

static void test_stereo_resample(const char *path) {
  const double f = 1000.0, seconds = 1.5;
  CHECK(write_stereo(path, f, seconds, -1) == 0);
  float *x = NULL;
  size_t n = 0;
  tw_errbuf err = {{0}};
  int rc = tw_audio_load(path, &x, &n, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc) return;
  double expect = seconds * 16000;
  CHECK_MSG(fabs((double)n - expect) <= 0.01 * expect, "%zu samples, expected %g", n, expect);
  /* interior only, away from the resampler's edges */
  size_t lo = 1600, hi = n - 1600, crossings = 0;
  float peak = 0;
  for (size_t i = lo; i + 1 < hi; i++) {
    crossings += (x[i] < 0) != (x[i + 1] < 0);
    peak = fmaxf(peak, fabsf(x[i]));
  }
  double freq = crossings / 2.0 / ((double)(hi - lo) / 16000.0);
  CHECK_MSG(fabs(freq - f) < 5.0, "measured %g Hz", freq);
  CHECK_MSG(fabsf(peak - 0.6f) < 0.01f, "mono peak %g, expected the channel mean 0.6", peak);
  tw_free(x);
}

/* 16-bit FLAC at 22.05 kHz, one channel: decoded and resampled too. */
static void test_flac(const char *path) {
  SF_INFO info = {0};
  info.samplerate = 22050;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  if (!sf_format_check(&info)) {
    printf("test_audio: libsndfile built without FLAC, skipped\n");
    return;
  }
  SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
  CHECK(sf != NULL);
  if (!sf) return;
  enum { N = 22050 };
  static float buf[N];
  for (int i = 0; i < N; i++) buf[i] = (float)(0.5 * sin(6.283185307179586 * 500.0 * i / 22050));
  CHECK(sf_writef_float(sf, buf, N) == N);
  sf_close(sf);
  float *x = NULL;
  size_t n = 0;
  tw_errbuf err = {{0}};
  CHECK_MSG(tw_audio_load(path, &x, &n, &err) == 0, "%s", err.msg);
  CHECK_MSG(n >= 15840 && n <= 16160, "flac: %zu samples", n);
  size_t crossings = 0;
  for (size_t i = 1000; i + 1 < n - 1000; i++) crossings += (x[i] < 0) != (x[i + 1] < 0);
  double freq = crossings / 2.0 / ((double)(n - 2001) / 16000.0);
  CHECK_MSG(fabs(freq - 500.0) < 5.0, "flac: %g Hz", freq);
  tw_free(x);
}

static void expect_error(const char *path, int code1, int code2, const char *what) {
  float *x = (float *)&x;
  size_t n = 7;
  tw_errbuf err = {{0}};
  int rc = tw_audio_load(path, &x, &n, &err);
  CHECK_MSG(rc == code1 || rc == code2, "%s: rc %d", what, rc);
  CHECK_MSG(strstr(tw_last_error(), path) != NULL, "%s: '%s' lacks the file name", what,
            tw_last_error());
  CHECK(x == NULL && n == 0);
}

int main(void) {
  test_jfk();
  char path[] = "/tmp/tw_audio_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  test_stereo_resample(path);
  test_flac(path);
  expect_error("/nonexistent/dir/none.wav", TW_EIO, TW_EIO, "missing");
  FILE *f = fopen(path, "wb");
  fclose(f);
  expect_error(path, TW_EAUDIO, TW_EIO, "empty");
  f = fopen(path, "wb");
  tw_rng rng = {5};
  for (int i = 0; i < 4096; i++) fputc((int)(tw_rng_next(&rng) & 0xff), f);
  fclose(f);
  expect_error(path, TW_EAUDIO, TW_EIO, "garbage");
  CHECK(write_stereo(path, 440, 0, 0) == 0);
  expect_error(path, TW_EAUDIO, TW_EAUDIO, "no frames");
  unlink(path);
  return tw_test_finish("test_audio");
}

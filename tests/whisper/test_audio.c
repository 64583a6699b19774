/* Audio input: the real 16 kHz fixture, a stereo 44.1 kHz sine written
 * here with libsndfile, and a corpus of broken and unusual inputs made here:
 * huge and non-finite float samples, a single sample, 5 ms, truncated WAV
 * and FLAC, a directory, an empty file, text, a FIFO with a writer thread,
 * standard input, the same bytes in memory, and the length limit. */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <float.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Writes n frames of one channel (format fmt, rate Hz) from buf. */
static int write_mono(const char *path, int fmt, int rate, const float *buf, int n) {
  SF_INFO info = {0};
  info.samplerate = rate;
  info.channels = 1;
  info.format = fmt;
  SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
  if (!sf) return -1;
  sf_count_t w = sf_writef_float(sf, buf, n);
  sf_close(sf);
  return w == n ? 0 : -1;
}

static int load(const char *path, float **x, size_t *n, tw_audio_info *info, tw_errbuf *err) {
  *x = NULL;
  return tw_audio_load_ex(path, NULL, x, n, info, err);
}

static int all_finite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

/* 1e30 and +-FLT_MAX in float WAVs, at 16 kHz and (through the resampler)
 * 44.1 kHz, and 1e300 in a double WAV: decoded finite; the 16 kHz values
 * come back exactly, the double ones saturated at FLT_MAX. */
static void test_huge(const char *path) {
  enum { N = 4000 };
  static float buf[N];
  float *x;
  size_t n;
  tw_errbuf err = {{0}};
  const float values[2] = {1e30f, FLT_MAX};
  for (int v = 0; v < 2; v++) {
    for (int i = 0; i < N; i++) buf[i] = i % 2 ? values[v] : -values[v];
    for (int rate = 16000; rate <= 44100; rate += 28100) {
      CHECK(write_mono(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, buf, N) == 0);
      int rc = load(path, &x, &n, NULL, &err);
      CHECK_MSG(rc == 0, "%g at %d Hz: %s", values[v], rate, err.msg);
      CHECK_MSG(rc || all_finite(x, n), "%g at %d Hz: non-finite output", values[v], rate);
      if (!rc && rate == 16000) CHECK(n == N && x[0] == -values[v] && x[1] == values[v]);
      tw_free(x);
    }
  }
  SF_INFO info = {0};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_DOUBLE;
  SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
  double d[4] = {1e300, -1e300, 0.25, -1e39};
  CHECK(sf && sf_writef_double(sf, d, 4) == 4);
  sf_close(sf);
  CHECK_MSG(load(path, &x, &n, NULL, &err) == 0, "%s", err.msg);
  CHECK(x && n == 4 && x[0] == FLT_MAX && x[1] == -FLT_MAX && x[2] == 0.25f && x[3] == -FLT_MAX);
  tw_free(x);
}

/* A NaN or an infinity anywhere, in any channel, is refused naming the
 * file and the time of the first one. */
static void test_nonfinite(const char *path) {
  enum { N = 32000 };
  static float buf[2 * N];
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (int b = 0; b < 3; b++) {
    for (int i = 0; i < 2 * N; i++) buf[i] = (float)(0.1 * sin(0.01 * i));
    buf[2 * 24000 + 1] = bad[b]; /* frame 24000 = 1.500 s, right channel */
    buf[2 * 30000] = bad[b];     /* a later one is not the one named */
    SF_INFO info = {0};
    info.samplerate = 16000;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    CHECK(sf && sf_writef_float(sf, buf, N) == N);
    sf_close(sf);
    float *x;
    size_t n = 5;
    tw_errbuf err = {{0}};
    CHECK(load(path, &x, &n, NULL, &err) == TW_EAUDIO && x == NULL && n == 0);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "1.500 s") &&
                  strstr(err.msg, b ? "infinite" : "NaN") && strstr(err.msg, "channel 2"),
              "%s", err.msg);
  }
}

/* One sample and 5 ms decode as what they are (the mel makes them one
 * window); at 44.1 kHz they go through the resampler too. */
static void test_short(const char *path) {
  float buf[221];
  for (int i = 0; i < 221; i++) buf[i] = (float)(0.5 * sin(0.2 * i + 1.0));
  const struct {
    int rate, frames;
    size_t lo, hi;
  } cases[] = {{16000, 1, 1, 1}, {16000, 80, 80, 80}, {44100, 221, 78, 82}};
  for (int c = 0; c < 3; c++) {
    CHECK(write_mono(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, cases[c].rate, buf,
                     cases[c].frames) == 0);
    float *x;
    size_t n = 0;
    tw_errbuf err = {{0}};
    tw_audio_info info;
    CHECK_MSG(load(path, &x, &n, &info, &err) == 0, "%d frames: %s", cases[c].frames, err.msg);
    CHECK_MSG(n >= cases[c].lo && n <= cases[c].hi, "%d frames at %d Hz: %zu samples",
              cases[c].frames, cases[c].rate, n);
    /* 16 kHz comes back as written (16-bit steps); resampled, only the length */
    CHECK(x && !info.truncated && (cases[c].rate != 16000 || fabsf(x[0] - buf[0]) < 1e-4f));
    tw_free(x);
  }
}

/* Cut files: decoded as far as they go, flagged truncated with the counts. */
static void test_truncated(const char *path, int fmt, long keep_bytes, const char *what) {
  enum { N = 32000 };
  static float buf[N];
  for (int i = 0; i < N; i++) buf[i] = (float)(0.3 * sin(0.05 * i));
  SF_INFO probe = {.samplerate = 16000, .channels = 1, .format = fmt};
  if (!sf_format_check(&probe)) {
    printf("test_audio: libsndfile cannot write %s here\n", what);
    CHECK(fmt != (SF_FORMAT_WAV | SF_FORMAT_PCM_16)); /* WAV is always there */
    return;
  }
  CHECK(write_mono(path, fmt, 16000, buf, N) == 0);
  CHECK(truncate(path, keep_bytes) == 0);
  float *x;
  size_t n = 0;
  tw_errbuf err = {{0}};
  tw_audio_info info;
  CHECK_MSG(load(path, &x, &n, &info, &err) == 0, "%s: %s", what, err.msg);
  CHECK_MSG(info.truncated && info.header_frames == N && info.frames_read == (long long)n &&
                n > 0 && n < N,
            "%s: truncated %d, header %lld, read %lld, %zu samples", what, info.truncated,
            info.header_frames, info.frames_read, n);
  /* what was read is the start of the signal */
  CHECK(x && fabsf(x[100] - buf[100]) < 1e-3f);
  tw_free(x);
  /* the whole file is not flagged */
  CHECK(write_mono(path, fmt, 16000, buf, N) == 0);
  CHECK(load(path, &x, &n, &info, &err) == 0 && !info.truncated && n == N &&
        info.header_frames == N && info.frames_read == N);
  tw_free(x);
}

/* A directory, an empty file and text: each its own message, naming it. */
static void expect_message(const char *path, int code, const char *words) {
  float *x;
  size_t n = 3;
  tw_errbuf err = {{0}};
  int rc = load(path, &x, &n, NULL, &err);
  CHECK_MSG(rc == code && x == NULL && n == 0, "%s: rc %d", words, rc);
  CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, words), "wanted '%s': %s", words, err.msg);
}

static void test_not_audio(const char *path) {
  char dir[] = "/tmp/tw_audio_dir_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  expect_message(dir, TW_EAUDIO, "is a directory");
  rmdir(dir);
  FILE *f = fopen(path, "wb");
  fclose(f);
  expect_message(path, TW_EAUDIO, "is empty");
  f = fopen(path, "wb");
  fputs("This is a plain text file, not audio.\n", f);
  fclose(f);
  expect_message(path, TW_EAUDIO, "not an audio file");
  expect_message("/nonexistent/none.wav", TW_EIO, "No such file or directory");
}

typedef struct feeder {
  const char *fifo; /* opened for writing in the thread, or NULL: use fd */
  int fd;
  const unsigned char *data;
  size_t size;
} feeder;

/* Writes the bytes in small pieces (a slow producer), then closes. */
static void *feed(void *arg) {
  feeder *f = arg;
  if (f->fifo) f->fd = open(f->fifo, O_WRONLY); /* blocks until the reader opens */
  for (size_t off = 0; f->fd >= 0 && off < f->size;) {
    size_t k = f->size - off < 1000 ? f->size - off : 1000;
    ssize_t w = write(f->fd, f->data + off, k);
    if (w <= 0) break;
    off += (size_t)w;
  }
  if (f->fd >= 0) close(f->fd);
  return NULL;
}

static unsigned char *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  rewind(f);
  unsigned char *b = malloc(*size ? *size : 1);
  if (fread(b, 1, *size, f) != *size) *size = 0;
  fclose(f);
  return b;
}

/* Decodes `name` while a thread feeds it; 1 when the samples equal ref. */
static int fed_decode(const char *name, feeder *fd_writer, const float *ref, size_t n_ref) {
  pthread_t th;
  if (pthread_create(&th, NULL, feed, fd_writer) != 0) return 0;
  float *x;
  size_t n = 0;
  tw_errbuf err = {{0}};
  int rc = load(name, &x, &n, NULL, &err);
  pthread_join(th, NULL);
  CHECK_MSG(rc == 0, "%s: %s", name, err.msg);
  int same = rc == 0 && n == n_ref && !memcmp(x, ref, n * sizeof(float));
  tw_free(x);
  return same;
}

/* The same FLAC from memory, through a FIFO and through standard input (a
 * pipe) decodes to exactly the samples of the file. */
static void test_streams(const char *path) {
  enum { N = 24000 };
  static float buf[N];
  for (int i = 0; i < N; i++) buf[i] = (float)(0.4 * sin(0.02 * i));
  int fmt = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SF_INFO probe = {.samplerate = 16000, .channels = 1, .format = fmt};
  if (!sf_format_check(&probe)) fmt = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  CHECK(write_mono(path, fmt, 16000, buf, N) == 0);
  float *ref, *x;
  size_t n_ref = 0, n = 0, size = 0;
  tw_errbuf err = {{0}};
  CHECK_MSG(load(path, &ref, &n_ref, NULL, &err) == 0 && n_ref == N, "%s", err.msg);
  unsigned char *bytes = slurp(path, &size);
  CHECK(bytes && size > 0);
  if (!bytes || !ref) return;

  CHECK(tw_audio_decode_memory(bytes, size, "mem", NULL, &x, &n, NULL, &err) == 0);
  CHECK(x && n == n_ref && !memcmp(x, ref, n * sizeof(float)));
  tw_free(x);
  /* every allocation failing in turn: TW_ENOMEM, nothing returned or leaked */
  int failures = 0;
  for (long k = 1; k <= 12; k++) {
    tw_mem_fail_after(k);
    int rc = tw_audio_decode_memory(bytes, size, "mem", NULL, &x, &n, NULL, &err);
    tw_mem_fail_after(0);
    CHECK_MSG(rc == 0 || (rc == TW_ENOMEM && x == NULL && n == 0), "allocation %ld: rc %d", k, rc);
    failures += rc == TW_ENOMEM;
    tw_free(x);
  }
  CHECK(failures >= 2);
  CHECK(tw_audio_decode_memory(bytes, 0, "mem", NULL, &x, &n, NULL, &err) == TW_EAUDIO);
  CHECK(tw_audio_decode_memory(bytes, 100, "mem", NULL, &x, &n, NULL, &err) == TW_EAUDIO);

  char fifo[64];
  snprintf(fifo, sizeof fifo, "%s.fifo", path);
  CHECK(mkfifo(fifo, 0600) == 0);
  for (int round = 0; round < 5; round++) { /* the old probe-and-reopen lost data sometimes */
    feeder f = {fifo, -1, bytes, size};
    CHECK_MSG(fed_decode(fifo, &f, ref, n_ref), "FIFO round %d", round);
  }
  unlink(fifo);

  int pfd[2], saved = dup(STDIN_FILENO);
  CHECK(saved >= 0 && pipe(pfd) == 0);
  dup2(pfd[0], STDIN_FILENO);
  close(pfd[0]);
  feeder f = {NULL, pfd[1], bytes, size};
  CHECK_MSG(fed_decode("-", &f, ref, n_ref), "standard input");
  dup2(saved, STDIN_FILENO);
  close(saved);
  free(bytes);
  tw_free(ref);
}

/* Longer than the caller's limit: TW_ERANGE, nothing returned. */
static void test_limit(const char *path) {
  static float buf[16000];
  CHECK(write_mono(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, buf, 16000) == 0);
  tw_audio_options o = {.max_seconds = 0.5};
  float *x = (float *)&o;
  size_t n = 1;
  tw_errbuf err = {{0}};
  CHECK(tw_audio_load_ex(path, &o, &x, &n, NULL, &err) == TW_ERANGE && x == NULL && n == 0);
  o.max_seconds = 1.0;
  CHECK(tw_audio_load_ex(path, &o, &x, &n, NULL, &err) == 0 && n == 16000);
  tw_free(x);
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
  test_huge(path);
  test_nonfinite(path);
  test_short(path);
  test_truncated(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 30000, "WAV");
  test_truncated(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 6000, "FLAC");
  test_not_audio(path);
  test_streams(path);
  test_limit(path);
  unlink(path);
  return tw_test_finish("test_audio");
}

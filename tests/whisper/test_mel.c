/* Log-mel against an independent fp64 reference: a direct O(N^2) DFT per
 * frame, the Hann window and centring written out here from the definition
 * of torch.stft(center=True, pad_mode="reflect"), and the model's filters. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tw_test.h"
#include "whisper/audio.h"
#include "whisper/mel.h"
#include "whisper/model.h"

#define NFFT 400
#define HOP 160
#define BINS 201

/* Whisper's normalised log-mel of x (n samples) + 480000 zeros, in double. */
static double *reference(const float *x, size_t n, const float *filt, int n_mel, size_t *frames) {
  size_t len = n + 480000, plen = len + NFFT;
  double *p = calloc(plen, sizeof(double));
  for (size_t i = 0; i < n; i++) p[200 + i] = x[i];
  for (size_t k = 1; k <= 200; k++) {
    p[200 - k] = p[200 + k];                   /* reflect about the first sample */
    p[200 + len - 1 + k] = p[200 + len - 1 - k]; /* and about the last */
  }
  size_t n_stft = 1 + (plen - NFFT) / HOP; /* torch.stft frame count */
  *frames = n_stft - 1;                    /* Whisper drops the last one */
  double c[NFFT], s[NFFT], w[NFFT];
  for (int j = 0; j < NFFT; j++) {
    c[j] = cos(2 * 3.14159265358979323846 * j / NFFT);
    s[j] = sin(2 * 3.14159265358979323846 * j / NFFT);
    w[j] = 0.5 * (1 - cos(2 * 3.14159265358979323846 * j / NFFT)); /* periodic Hann */
  }
  double *y = malloc(sizeof(double) * (size_t)n_mel * *frames), ymax = -1e300;
  double fr[NFFT], pw[BINS];
  for (size_t t = 0; t < *frames; t++) {
    for (int j = 0; j < NFFT; j++) fr[j] = p[t * HOP + (size_t)j] * w[j];
    for (int k = 0; k < BINS; k++) {
      double re = 0, im = 0;
      for (int j = 0; j < NFFT; j++) {
        int idx = (k * j) % NFFT;
        re += fr[j] * c[idx];
        im -= fr[j] * s[idx];
      }
      pw[k] = re * re + im * im;
    }
    for (int m = 0; m < n_mel; m++) {
      double e = 0;
      for (int k = 0; k < BINS; k++) e += (double)filt[m * BINS + k] * pw[k];
      double v = log10(e > 1e-10 ? e : 1e-10);
      y[(size_t)m * *frames + t] = v;
      ymax = v > ymax ? v : ymax;
    }
  }
  for (size_t i = 0; i < (size_t)n_mel * *frames; i++)
    y[i] = ((y[i] > ymax - 8 ? y[i] : ymax - 8) + 4) / 4;
  free(p);
  return y;
}

static void test_jfk(tw_mel *mel, const float *filt) {
  float *x = NULL, *y = NULL;
  size_t n = 0, frames = 0, ref_frames = 0;
  tw_errbuf err = {{0}};
  CHECK_MSG(tw_audio_load(tw_test_data("jfk.wav"), &x, &n, &err) == 0, "%s", err.msg);
  CHECK_MSG(tw_mel_compute(mel, x, n, &y, &frames, &err) == 0, "%s", err.msg);
  if (!y) return;
  double *ref = reference(x, n, filt, 80, &ref_frames);
  CHECK_MSG(frames == ref_frames && frames == 4100, "frames %zu, reference %zu", frames,
            ref_frames);
  CHECK(frames == tw_mel_n_frames(n));
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < 80 * frames; i++) {
    double d = fabs(y[i] - ref[i]);
    if (d > worst) worst = d, at = i;
  }
  CHECK_MSG(worst <= 1e-3, "max |mel - ref| = %g at mel %zu frame %zu", worst, at / frames,
            at % frames);
  printf("jfk log-mel: %zu frames, max abs diff vs fp64 DFT %.3g\n", frames, worst);
  /* one 30 s window holds the 11 s of speech */
  CHECK(tw_mel_n_windows(frames) == 1);
  float *win = malloc(80 * 3000 * sizeof(float));
  CHECK(tw_mel_window(y, 80, frames, 0, win, &err) == 0);
  CHECK(win[5 * 3000 + 2999] == y[5 * frames + 2999] && win[79 * 3000] == y[79 * frames]);
  CHECK(tw_mel_window(y, 80, frames, 1, win, &err) == TW_ERANGE);
  free(win);
  free(ref);
  tw_free(x);
  tw_free(y);
}

/* 40 s of noise: 7000 frames, two windows; silence: 3000 frames, none. */
static void test_windows(tw_mel *mel) {
  size_t n = 640000, frames;
  float *x = malloc(n * sizeof(float)), *y = NULL;
  tw_rng rng = {11};
  tw_fill_uniform(&rng, x, n, -0.5f, 0.5f);
  tw_errbuf err = {{0}};
  CHECK(tw_mel_compute(mel, x, n, &y, &frames, &err) == 0);
  CHECK(frames == 7000 && tw_mel_n_windows(frames) == 2);
  float *win = malloc(80 * 3000 * sizeof(float));
  CHECK(tw_mel_window(y, 80, frames, 1, win, &err) == 0);
  int same = 1;
  for (int m = 0; m < 80; m++)
    for (int t = 0; t < 3000; t++) same &= win[m * 3000 + t] == y[(size_t)m * frames + 3000 + t];
  CHECK(same);
  CHECK(tw_mel_window(y, 80, frames, 2, win, &err) == TW_ERANGE);
  tw_free(y);
  CHECK(tw_mel_compute(mel, x, 0, &y, &frames, &err) == 0);
  CHECK(frames == 3000 && tw_mel_n_windows(frames) == 1);
  CHECK(tw_mel_n_windows(2999) == 0);
  /* all silence: every value clamps to log10(1e-10) = -10, (-10 + 4) / 4 */
  CHECK(y && y[0] == -1.5f && y[80 * 3000 - 1] == -1.5f);
  tw_free(y);
  free(win);
  free(x);
}

/* OpenAI's window: content frames (the mel minus its 3000 padding frames)
 * from seek, then 0.0; checked on a mel whose value encodes (bin, frame). */
static void test_segment(void) {
  enum { MELS = 4 };
  const size_t contents[] = {1234, 4000, 0};
  for (size_t c = 0; c < 3; c++) {
    const size_t frames = contents[c] + 3000;
    float *y = malloc(MELS * frames * sizeof *y), *win = malloc(MELS * 3000 * sizeof *win);
    for (size_t i = 0; i < MELS * frames; i++) y[i] = 1.0f + (float)i;
    tw_errbuf err = {{0}};
    for (size_t seek = 0; seek <= contents[c]; seek += 3000) {
      if (seek == contents[c] && seek) break;
      CHECK(tw_mel_segment(y, MELS, frames, seek, win, &err) == 0);
      const size_t take = contents[c] - seek < 3000 ? contents[c] - seek : 3000;
      int ok = 1;
      for (size_t m = 0; m < MELS; m++)
        for (size_t t = 0; t < 3000; t++)
          ok &= win[m * 3000 + t] == (t < take ? 1.0f + (float)(m * frames + seek + t) : 0.0f);
      CHECK_MSG(ok, "content %zu, seek %zu", contents[c], seek);
    }
    CHECK(tw_mel_segment(y, MELS, frames, contents[c] ? contents[c] : 1, win, &err) == TW_ERANGE);
    free(y), free(win);
  }
}

/* large-v3's 128-bin bank on 2 s of a chirp, against the same reference. */
static void test_128(void) {
  float *filt = malloc(128 * BINS * sizeof(float)), *y = NULL;
  tw_mel_filters_slaney(128, filt);
  size_t n = 32000, frames = 0, ref_frames = 0;
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / 16000;
    x[i] = (float)(0.4 * sin(6.283185307179586 * (100 + 1500 * t) * t));
  }
  tw_mel *mel = NULL;
  tw_errbuf err = {{0}};
  CHECK(tw_mel_create(filt, 128, 2, &mel, &err) == 0);
  CHECK(mel && tw_mel_compute(mel, x, n, &y, &frames, &err) == 0);
  if (y) {
    double *ref = reference(x, n, filt, 128, &ref_frames), worst = 0;
    CHECK(frames == ref_frames && frames == (32000 + 480000) / 160);
    for (size_t i = 0; i < 128 * frames; i++) worst = fmax(worst, fabs(y[i] - ref[i]));
    CHECK_MSG(worst <= 1e-3, "128 bins: max diff %g", worst);
    free(ref);
  }
  tw_free(y);
  tw_mel_destroy(mel);
  free(x);
  free(filt);
}

/* Largest |mel - reference| over all values, or 1e9 when a value is not finite. */
static double worst_vs_reference(tw_mel *mel, const float *x, size_t n, const float *filt) {
  float *y = NULL;
  size_t frames = 0, ref_frames = 0;
  tw_errbuf err = {{0}};
  if (tw_mel_compute(mel, x, n, &y, &frames, &err) != 0) return 1e9;
  double *ref = reference(x, n, filt, 80, &ref_frames), worst = frames == ref_frames ? 0 : 1e9;
  for (size_t i = 0; worst < 1e9 && i < 80 * frames; i++)
    worst = isfinite(y[i]) ? fmax(worst, fabs(y[i] - ref[i])) : 1e9;
  free(ref);
  tw_free(y);
  return worst;
}

/* Huge finite samples (1e30 and FLT_MAX, where float power overflows) give
 * the fp64 reference's finite values; NaN and infinity are refused. */
static void test_huge_and_nonfinite(tw_mel *mel, const float *filt) {
  size_t n = 4000;
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    double s = sin(6.283185307179586 * 700.0 * (double)i / 16000);
    x[i] = (float)(s * (i < n / 2 ? 1e30 : 3.4028234663852886e38));
  }
  double worst = worst_vs_reference(mel, x, n, filt);
  CHECK_MSG(worst <= 1e-3, "1e30 / FLT_MAX input: max diff %g (1e9: non-finite)", worst);
  for (size_t i = 0; i < n; i++) x[i] = i % 2 ? 3.4028234663852886e38f : -3.4028234663852886e38f;
  worst = worst_vs_reference(mel, x, n, filt);
  CHECK_MSG(worst <= 1e-3, "+-FLT_MAX square wave: max diff %g", worst);
  float *y = NULL;
  size_t frames = 0;
  tw_errbuf err = {{0}};
  x[1234] = NAN;
  CHECK(tw_mel_compute(mel, x, n, &y, &frames, &err) == TW_EINVAL && y == NULL);
  CHECK_MSG(strstr(err.msg, "1234") && strstr(err.msg, "NaN"), "%s", err.msg);
  x[1234] = 0;
  x[n - 1] = -INFINITY;
  CHECK(tw_mel_compute(mel, x, n, &y, &frames, &err) == TW_EINVAL && y == NULL);
  CHECK_MSG(strstr(err.msg, "infinite"), "%s", err.msg);
  free(x);
}

/* One sample and 5 ms (less than a hop, less than a frame): one window,
 * equal to the reference of that padded audio. */
static void test_short(tw_mel *mel, const float *filt) {
  float x[80];
  for (int i = 0; i < 80; i++) x[i] = (float)(0.3 * sin(0.3 * i));
  const size_t lengths[2] = {1, 80};
  for (int k = 0; k < 2; k++) {
    CHECK(tw_mel_n_windows(tw_mel_n_frames(lengths[k])) == 1);
    double worst = worst_vs_reference(mel, x, lengths[k], filt);
    CHECK_MSG(worst <= 1e-3, "%zu samples: max diff %g", lengths[k], worst);
  }
}

/* Three threads give bit-identical output to one. */
static void test_threads(tw_mel *one, const float *filt) {
  tw_mel *three = NULL;
  tw_errbuf err = {{0}};
  CHECK(tw_mel_create(filt, 80, 3, &three, &err) == 0);
  CHECK(tw_mel_create(filt, 80, 0, &(tw_mel *){NULL}, &err) == TW_EINVAL);
  size_t n = 16000 * 45, f1 = 0, f3 = 0;
  float *x = malloc(n * sizeof(float)), *y1 = NULL, *y3 = NULL;
  tw_rng rng = {3};
  tw_fill_uniform(&rng, x, n, -0.3f, 0.3f);
  CHECK(tw_mel_compute(one, x, n, &y1, &f1, &err) == 0);
  if (three) CHECK(tw_mel_compute(three, x, n, &y3, &f3, &err) == 0);
  CHECK(y1 && y3 && f1 == f3 && !memcmp(y1, y3, 80 * f1 * sizeof(float)));
  tw_free(y1);
  tw_free(y3);
  free(x);
  tw_mel_destroy(three);
}

int main(void) {
  tw_whisper_model *model = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load_ex(tw_test_data("for-tests-ggml-base.bin"), TW_LOAD_HEADER_ONLY,
                                    &model, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc) return tw_test_finish("test_mel");
  float *filt = malloc(80 * BINS * sizeof(float));
  memcpy(filt, model->mel_filters, 80 * BINS * sizeof(float));
  tw_mel *mel = NULL;
  CHECK(tw_mel_create(filt, 80, 1, &mel, &err) == 0);
  if (mel) {
    test_jfk(mel, filt);
    test_windows(mel);
    test_segment();
    test_threads(mel, filt);
    test_huge_and_nonfinite(mel, filt);
    test_short(mel, filt);
    test_128();
  }
  tw_mel_destroy(mel);
  tw_mel_destroy(NULL);
  free(filt);
  tw_whisper_model_free(model);
  return tw_test_finish("test_mel");
}

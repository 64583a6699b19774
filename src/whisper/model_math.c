/* Closed-form pieces of Whisper shared by the synthetic writer and tests:
 * the encoder's sinusoidal positional embedding and librosa's Slaney mel
 * filter bank (the one whisper ships in mel_filters.npz). */
#include <math.h>

#include "whisper/model.h"

void tw_whisper_sinusoids(int length, int channels, float *dst) {
  int half = channels / 2;
  double step = half > 1 ? log(10000.0) / (half - 1) : 0.0;
  for (int t = 0; t < length; t++) {
    for (int i = 0; i < half; i++) {
      double a = t * exp(-step * i);
      dst[(size_t)t * channels + i] = (float)sin(a);
      dst[(size_t)t * channels + half + i] = (float)cos(a);
    }
  }
}

/* Slaney's auditory scale: linear below 1 kHz, logarithmic above. */
static double hz_to_mel(double f) {
  const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp;
  const double logstep = log(6.4) / 27.0;
  return f < min_log_hz ? f / f_sp : min_log_mel + log(f / min_log_hz) / logstep;
}

static double mel_to_hz(double m) {
  const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp;
  const double logstep = log(6.4) / 27.0;
  return m < min_log_mel ? f_sp * m : min_log_hz * exp(logstep * (m - min_log_mel));
}

void tw_mel_filters_slaney(int n_mels, float *dst) {
  enum { N_BINS = 201 };
  const double sr = 16000, f_max = sr / 2, mel_max = hz_to_mel(f_max);
  double pts[128 + 2] = {0};
  if (n_mels < 1 || n_mels > 128) return; /* whisper uses 80 or 128 */
  for (int i = 0; i < n_mels + 2; i++) pts[i] = mel_to_hz(mel_max * i / (n_mels + 1));
  for (int m = 0; m < n_mels; m++) {
    double lo = pts[m], mid = pts[m + 1], hi = pts[m + 2];
    double enorm = 2.0 / (hi - lo); /* Slaney: constant area per filter */
    for (int k = 0; k < N_BINS; k++) {
      double f = k * sr / 400.0;
      double up = (f - lo) / (mid - lo), down = (hi - f) / (hi - mid);
      double w = fmax(0.0, fmin(up, down));
      dst[(size_t)m * N_BINS + k] = (float)(w * enorm);
    }
  }
}

/* Writes the audio fuzzer's seed corpus into DIR: small files in each
 * container and encoding libsndfile writes here (WAV 16-bit, float and
 * double, stereo 44.1 kHz, FLAC, OGG/Vorbis, AIFF, AU), plus the kinds of
 * trouble users meet: huge float samples, a single sample, and cut files. */
#define _POSIX_C_SOURCE 200809L

#include <float.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <unistd.h>

enum { N = 800 }; /* 50 ms at 16 kHz: seeds stay small */

static int write_seed(const char *dir, const char *name, int format, int rate, int channels,
                      const float *buf, int frames, long cut_bytes) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
  if (!sf_format_check(&info)) return 0; /* not in this libsndfile build */
  SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
  if (!sf) {
    fprintf(stderr, "make_audio_seed: %s: %s\n", path, sf_strerror(NULL));
    return -1;
  }
  sf_count_t w = sf_writef_float(sf, buf, frames);
  sf_close(sf);
  if (w != frames || (cut_bytes > 0 && truncate(path, cut_bytes) != 0)) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_audio_seed DIR\n");
    return 2;
  }
  const char *d = argv[1];
  static float sine[2 * N], huge[N];
  for (int i = 0; i < 2 * N; i++) sine[i] = (float)(0.5 * sin(0.07 * i));
  for (int i = 0; i < N; i++) huge[i] = (i % 2 ? 1 : -1) * (i % 3 ? 1e30f : FLT_MAX);
  const int wav16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16, wavf = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  int rc = 0;
  rc |= write_seed(d, "pcm16.wav", wav16, 16000, 1, sine, N, 0);
  rc |= write_seed(d, "float_stereo_44k.wav", wavf, 44100, 2, sine, N, 0);
  rc |= write_seed(d, "double.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 8000, 1, sine, N, 0);
  rc |= write_seed(d, "huge.wav", wavf, 16000, 1, huge, N, 0);
  rc |= write_seed(d, "one.wav", wav16, 16000, 1, sine, 1, 0);
  rc |= write_seed(d, "cut.wav", wav16, 16000, 1, sine, N, 44 + 600);
  rc |= write_seed(d, "s.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, sine, N, 0);
  rc |= write_seed(d, "cut.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, sine, N, 400);
  rc |= write_seed(d, "s.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, sine, N, 0);
  rc |= write_seed(d, "s.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 48000, 1, sine, N, 0);
  rc |= write_seed(d, "s.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 8000, 1, sine, N, 0);
  return rc ? 1 : 0;
}

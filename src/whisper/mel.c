#define _POSIX_C_SOURCE 200809L

#include "whisper/mel.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/mem.h"
#include "core/threadpool.h"

/* Per-thread FFT buffers (fftwf_malloc'd so that every thread can execute
 * the one plan on its own arrays with fftwf_execute_dft_r2c). */
typedef struct mel_scratch {
  float *in;           /* 400 */
  fftwf_complex *spec; /* 201 */
  double power[TW_MEL_N_BINS];
} mel_scratch;

struct tw_mel {
  int n_mel, n_threads;
  float *filters;       /* [n_mel, 201] */
  int *lo, *hi;         /* non-zero bin range [lo, hi) of each filter */
  float window[TW_MEL_N_FFT];
  mel_scratch *scratch; /* n_threads */
  tw_threadpool *pool;  /* NULL when n_threads == 1 */
  fftwf_plan plan;
};

/* FFTW's planner is not thread-safe. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void tw_mel_destroy(tw_mel *m) {
  if (!m) return;
  pthread_mutex_lock(&planner_lock);
  if (m->plan) fftwf_destroy_plan(m->plan);
  pthread_mutex_unlock(&planner_lock);
  for (int t = 0; m->scratch && t < m->n_threads; t++) {
    if (m->scratch[t].in) tw_free(m->scratch[t].in);
    if (m->scratch[t].spec) tw_free(m->scratch[t].spec);
  }
  tw_threadpool_destroy(m->pool);
  tw_free(m->scratch);
  tw_free(m->filters);
  tw_free(m->lo);
  tw_free(m->hi);
  tw_free(m);
}

static void filter_ranges(tw_mel *m) {
  for (int i = 0; i < m->n_mel; i++) {
    const float *f = m->filters + (size_t)i * TW_MEL_N_BINS;
    int lo = 0, hi = TW_MEL_N_BINS;
    while (lo < hi && f[lo] == 0.0f) lo++;
    while (hi > lo && f[hi - 1] == 0.0f) hi--;
    m->lo[i] = lo;
    m->hi[i] = hi;
  }
}

static int alloc_buffers(tw_mel *m) {
  m->filters = tw_malloc_aligned((size_t)m->n_mel * TW_MEL_N_BINS * sizeof(float));
  m->lo = tw_calloc_aligned((size_t)m->n_mel, sizeof(int));
  m->hi = tw_calloc_aligned((size_t)m->n_mel, sizeof(int));
  m->scratch = tw_calloc_aligned((size_t)m->n_threads, sizeof *m->scratch);
  if (!m->filters || !m->lo || !m->hi || !m->scratch) return -1;
  for (int t = 0; t < m->n_threads; t++) {
    m->scratch[t].in = tw_malloc_aligned(TW_MEL_N_FFT * sizeof(float));
    m->scratch[t].spec = tw_malloc_aligned(TW_MEL_N_BINS * sizeof(fftwf_complex));
    if (!m->scratch[t].in || !m->scratch[t].spec) return -1;
  }
  return 0;
}

int tw_mel_create(const float *filters, int n_mel, int n_threads, tw_mel **out, tw_errbuf *err) {
  if (!out) return tw_err(err, TW_EINVAL, "mel: out is NULL");
  *out = NULL;
  if (!filters || n_mel < 1 || n_mel > 1024)
    return tw_err(err, TW_EINVAL, "mel: bad filter bank (%d filters)", n_mel);
  if (n_threads < 1 || n_threads > 1024)
    return tw_err(err, TW_EINVAL, "mel: %d threads", n_threads);
  tw_mel *m = tw_calloc_aligned(1, sizeof *m);
  if (!m) return tw_err(err, TW_ENOMEM, "mel: out of memory");
  m->n_mel = n_mel;
  m->n_threads = n_threads;
  if (alloc_buffers(m) || (n_threads > 1 && tw_threadpool_create(n_threads, &m->pool))) {
    tw_mel_destroy(m);
    return tw_err(err, TW_ENOMEM, "mel: out of memory");
  }
  memcpy(m->filters, filters, (size_t)n_mel * TW_MEL_N_BINS * sizeof(float));
  filter_ranges(m);
  for (int j = 0; j < TW_MEL_N_FFT; j++) /* periodic Hann, as torch.hann_window */
    m->window[j] = (float)(0.5 - 0.5 * cos(2.0 * 3.14159265358979323846 * j / TW_MEL_N_FFT));
  pthread_mutex_lock(&planner_lock);
  m->plan = fftwf_plan_dft_r2c_1d(TW_MEL_N_FFT, m->scratch[0].in, m->scratch[0].spec,
                                  FFTW_ESTIMATE);
  pthread_mutex_unlock(&planner_lock);
  if (!m->plan) {
    tw_mel_destroy(m);
    return tw_err(err, TW_EUNSUPPORTED, "mel: FFTW could not plan a %d-point FFT", TW_MEL_N_FFT);
  }
  *out = m;
  return 0;
}

size_t tw_mel_n_frames(size_t n_samples) { return (n_samples + TW_MEL_PAD_SAMPLES) / TW_MEL_HOP; }

size_t tw_mel_n_windows(size_t n_frames) {
  if (n_frames < TW_MEL_WINDOW_FRAMES) return 0;
  /* audio shorter than one hop (or none) is still one window of padding */
  if (n_frames == TW_MEL_WINDOW_FRAMES) return 1;
  return (n_frames - TW_MEL_WINDOW_FRAMES + TW_MEL_WINDOW_FRAMES - 1) / TW_MEL_WINDOW_FRAMES;
}

/* The centred signal: 200 reflected samples, x, 480000 zeros, 200 reflected. */
static void build_padded(const float *x, size_t n, float *p, size_t len) {
  const size_t half = TW_MEL_N_FFT / 2;
  memset(p, 0, (len + 2 * half) * sizeof(float));
  if (n) memcpy(p + half, x, n * sizeof(float));
  for (size_t k = 1; k <= half; k++) p[half - k] = p[half + k]; /* x padded is >= 480000 long */
  /* the right reflection mirrors the appended zeros: already 0 */
}

/* log10 of the mel energies of one frame into column t of out.
 *
 * Any finite input gives a finite output: a frame whose peak exceeds 1 is
 * scaled by a power of two (exact in binary floating point, so the FFT of
 * ordinary audio is unchanged bit for bit) before the float FFT, which
 * would otherwise overflow for samples near FLT_MAX, and the power is
 * formed and scaled back in double, where even (400 FLT_MAX)^2 fits. */
static void frame(const tw_mel *m, mel_scratch *sc, const float *p, size_t t, float *out,
                  size_t n_frames) {
  const float *s = p + t * TW_MEL_HOP;
  float peak = 0;
  for (int j = 0; j < TW_MEL_N_FFT; j++) peak = fmaxf(peak, fabsf(s[j]));
  int shift = 0;
  if (peak > 1.0f) frexpf(peak, &shift);
  for (int j = 0; j < TW_MEL_N_FFT; j++) sc->in[j] = ldexpf(s[j], -shift) * m->window[j];
  fftwf_execute_dft_r2c(m->plan, sc->in, sc->spec);
  for (int k = 0; k < TW_MEL_N_BINS; k++) {
    double re = sc->spec[k][0], im = sc->spec[k][1];
    sc->power[k] = ldexp(re * re + im * im, 2 * shift);
  }
  for (int i = 0; i < m->n_mel; i++) {
    const float *f = m->filters + (size_t)i * TW_MEL_N_BINS;
    double e = 0;
    for (int k = m->lo[i]; k < m->hi[i]; k++) e += f[k] * sc->power[k];
    out[(size_t)i * n_frames + t] = (float)log10(e > 1e-10 ? e : 1e-10);
  }
}

typedef struct frames_job {
  const tw_mel *m;
  const float *p;
  float *y;
  size_t live, frames, chunk;
} frames_job;

static void frames_task(void *arg, size_t task, int thread) {
  const frames_job *j = arg;
  size_t t1 = (task + 1) * j->chunk < j->live ? (task + 1) * j->chunk : j->live;
  for (size_t t = task * j->chunk; t < t1; t++)
    frame(j->m, &j->m->scratch[thread], j->p, t, j->y, j->frames);
}

int tw_mel_compute(tw_mel *m, const float *samples, size_t n, float **out, size_t *n_frames,
                   tw_errbuf *err) {
  if (!m || !out || !n_frames || (n && !samples)) return tw_err(err, TW_EINVAL, "mel: NULL argument");
  *out = NULL;
  *n_frames = 0;
  if (n > SIZE_MAX / 4 - TW_MEL_PAD_SAMPLES - TW_MEL_N_FFT)
    return tw_err(err, TW_EOVERFLOW, "mel: %zu samples is too many", n);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(samples[i]))
      return tw_err(err, TW_EINVAL, "mel: sample %zu (at %.3f s) is %s", i, (double)i / 16000.0,
                    isnan(samples[i]) ? "NaN" : "infinite");
  size_t len = n + TW_MEL_PAD_SAMPLES, frames = tw_mel_n_frames(n), bytes;
  float *p = tw_malloc_aligned((len + TW_MEL_N_FFT) * sizeof(float));
  float *y = tw_mul3_size((size_t)m->n_mel, frames, sizeof(float), &bytes) ? NULL
                                                                          : tw_malloc_aligned(bytes);
  if (!p || !y) {
    tw_free(p);
    tw_free(y);
    return tw_err(err, TW_ENOMEM, "mel: out of memory for %zu frames", frames);
  }
  build_padded(samples, n, p, len);
  /* Frames that start past the audio (and its left padding) see only zeros:
   * their energies are exactly 0, so log10(1e-10). */
  size_t live = (n + TW_MEL_N_FFT / 2 + TW_MEL_HOP - 1) / TW_MEL_HOP;
  if (live > frames) live = frames;
  float ymax = -10.0f;
  frames_job job = {m, p, y, live, frames, 256};
  size_t n_tasks = (live + job.chunk - 1) / job.chunk;
  if (m->pool)
    tw_threadpool_run(m->pool, n_tasks, frames_task, &job);
  else
    for (size_t k = 0; k < n_tasks; k++) frames_task(&job, k, 0);
  for (int i = 0; i < m->n_mel; i++) {
    float *row = y + (size_t)i * frames;
    for (size_t t = live; t < frames; t++) row[t] = -10.0f;
    for (size_t t = 0; t < live; t++) ymax = row[t] > ymax ? row[t] : ymax;
  }
  for (size_t i = 0; i < (size_t)m->n_mel * frames; i++) {
    float v = y[i] > ymax - 8.0f ? y[i] : ymax - 8.0f;
    y[i] = (v + 4.0f) / 4.0f;
  }
  tw_free(p);
  *out = y;
  *n_frames = frames;
  return 0;
}

int tw_mel_window(const float *mel, int n_mel, size_t n_frames, size_t w, float *dst,
                  tw_errbuf *err) {
  if (w >= tw_mel_n_windows(n_frames))
    return tw_err(err, TW_ERANGE, "mel: window %zu of %zu (%zu frames)", w,
                  tw_mel_n_windows(n_frames), n_frames);
  size_t t0 = w * TW_MEL_WINDOW_FRAMES; /* t0 + 3000 <= n_frames: 30 s of zeros follow */
  for (int i = 0; i < n_mel; i++)
    memcpy(dst + (size_t)i * TW_MEL_WINDOW_FRAMES, mel + (size_t)i * n_frames + t0,
           TW_MEL_WINDOW_FRAMES * sizeof(float));
  return 0;
}

int tw_mel_segment(const float *mel, int n_mel, size_t n_frames, size_t seek, float *dst,
                   tw_errbuf *err) {
  const size_t content = n_frames > TW_MEL_WINDOW_FRAMES ? n_frames - TW_MEL_WINDOW_FRAMES : 0;
  if (seek >= content && !(seek == 0 && content == 0))
    return tw_err(err, TW_ERANGE, "mel: segment at frame %zu of %zu content frames", seek,
                  content);
  const size_t take = content - seek < TW_MEL_WINDOW_FRAMES ? content - seek : TW_MEL_WINDOW_FRAMES;
  for (int i = 0; i < n_mel; i++) {
    float *row = dst + (size_t)i * TW_MEL_WINDOW_FRAMES;
    memcpy(row, mel + (size_t)i * n_frames + seek, take * sizeof(float));
    for (size_t t = take; t < TW_MEL_WINDOW_FRAMES; t++) row[t] = 0.0f;
  }
  return 0;
}

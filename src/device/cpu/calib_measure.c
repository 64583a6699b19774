/* Timing the calibration candidates: for each usable kernel set a private
 * single-threaded cpu device runs one representative product per shape
 * class in each of the set's modes.  One core, because the choice is about
 * the kernels (threads split M x N the same way for all of them), and
 * because a quiet single core is what can be measured in a fraction of a
 * second on a shared machine.  Samples of the modes alternate (A B C A B C)
 * so that load from other processes falls on all alike; the figure is the
 * fastest single call of five samples (other processes can only slow a
 * kernel down: on a shared machine the fastest call is the least
 * disturbed).  About 0.5 s in all where every set runs (AVX-512). */
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "device/cpu/calib.h"
#include "device/cpu/cpu.h"

#define SAMPLES 5
#define SAMPLE_S 2e-3
/* A candidate whose first call takes this long (the portable set, tens of
 * times slower) is not going to win: that one call is its figure. */
#define SLOW_S 20e-3

/* Representative products: an encoder projection, a prefill of a few
 * tokens, a decoder step of a few beams (M 4: at M 1 every mode is bound by
 * memory and the figures are a tie; five beams, OpenAI's CLI default, are
 * where the modes part). */
static const size_t shape_of[TW_CPU_N_CLASSES][3] = {
    {224, 512, 512}, {12, 512, 1536}, {4, 512, 4096}};

static tw_cpu_measure_hook hook_fn;
static void *hook_user;

void tw_cpu_calib_set_hook(tw_cpu_measure_hook fn, void *user) {
  hook_fn = fn;
  hook_user = user;
}

/* The small-M path has a dot-product mode only where the set has its
 * streaming dot-product kernel. */
static int applies(const tw_cpu_kernels *ks, int mode, int cls) {
  return !(mode == TW_CPU_MODE_DP && cls == TW_CPU_CLASS_GEMV && !ks->gemv_dp);
}

static double fastest_sample(const double *t) {
  double best = t[0];
  for (int s = 1; s < SAMPLES; s++)
    if (t[s] < best) best = t[s];
  return best;
}

typedef struct class_bufs {
  float *a, *c;
  void *w_bf16, *w_f32; /* packed by the set's device */
} class_bufs;

/* Seconds of the fastest of `reps` calls of one mode: each call is timed
 * alone, so that one undisturbed call is enough on a busy machine. */
static double time_mode(tw_device *dev, tw_direct_gemm *g, const class_bufs *b, int cls, int mode,
                        long reps) {
  tw_cpu_impl *impl = dev->impl;
  int fp32 = mode == TW_CPU_MODE_A32 || mode == TW_CPU_MODE_F32W;
  impl->choice.mode[cls] = fp32 ? TW_CPU_MODE_A16 : mode;
  g->a_compute = fp32 ? TW_DTYPE_F32 : TW_DTYPE_BF16;
  g->weight = mode == TW_CPU_MODE_F32W ? b->w_f32 : b->w_bf16;
  double best = 0;
  for (long r = 0; r < reps; r++) {
    double t0 = tw_now();
    dev->iface->gemm(dev, g);
    double t = tw_now() - t0;
    if (r == 0 || t < best) best = t;
  }
  return best;
}

/* Times class cls for the n candidates of one set (those it applies to). */
static void measure_class(tw_device *dev, const class_bufs *b, int cls, tw_cpu_cand *all,
                          int n_all) {
  tw_cpu_cand *cands[TW_CPU_MAX_CANDS];
  int n = 0;
  for (int i = 0; i < n_all; i++)
    if (applies(all[i].ks, all[i].mode, cls)) cands[n++] = &all[i];
  const size_t m = shape_of[cls][0], k = shape_of[cls][1], nn = shape_of[cls][2];
  tw_direct_gemm g = {.m = m, .k = k, .n = nn, .a = b->a, .a_type = TW_DTYPE_F32, .lda = k,
                      .a_compute = TW_DTYPE_DEFAULT, .c = b->c, .ldc = nn};
  long reps[TW_CPU_MAX_CANDS];
  double t[TW_CPU_MAX_CANDS][SAMPLES];
  for (int i = 0; i < n; i++) {
    /* warm up (caches, pages), then size the samples */
    double once = time_mode(dev, &g, b, cls, cands[i]->mode, 1);
    if (once < SLOW_S) once = time_mode(dev, &g, b, cls, cands[i]->mode, 1);
    reps[i] = once >= SLOW_S ? 0 : once > 0 ? (long)(SAMPLE_S / once) + 1 : 1;
    for (int s = 0; s < SAMPLES; s++) t[i][s] = once;
  }
  for (int s = 0; s < SAMPLES; s++)
    for (int i = 0; i < n; i++)
      if (reps[i]) t[i][s] = time_mode(dev, &g, b, cls, cands[i]->mode, reps[i]);
  for (int i = 0; i < n; i++) {
    double sec = fastest_sample(t[i]);
    cands[i]->gflops[cls] = sec > 0 ? 2.0 * (double)(m * k * nn) / sec * 1e-9 : 0;
  }
}

static int prepare(tw_device *dev, const float *w, size_t k, size_t n, tw_dtype storage,
                   void **out) {
  tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n,
                       .storage = storage};
  return dev->iface->weight_prepare(dev, &src, out);
}

/* All classes for the n candidates of one set (cands[0].ks). */
static int measure_set(tw_cpu_cand *cands, int n, const char *opts) {
  tw_device *dev = NULL;
  tw_cpu_choice fixed;
  tw_cpu_choice_fixed(cands[0].ks, &fixed);
  int rc = tw_cpu_device_make(&fixed, NULL, opts, &dev);
  for (int cls = 0; cls < TW_CPU_N_CLASSES && !rc; cls++) {
    const size_t m = shape_of[cls][0], k = shape_of[cls][1], nn = shape_of[cls][2];
    class_bufs b = {0};
    float *w = tw_malloc_aligned(k * nn * sizeof(float));
    b.a = tw_malloc_aligned(m * k * sizeof(float));
    b.c = tw_malloc_aligned(m * nn * sizeof(float));
    if (!w || !b.a || !b.c) rc = TW_ENOMEM;
    /* values in [-1, 1): no denormals or overflow to favour a kernel */
    for (size_t i = 0; !rc && i < k * nn; i++) w[i] = (float)((i * 104729u) % 2003u) / 1000.f - 1.f;
    for (size_t i = 0; !rc && i < m * k; i++) b.a[i] = (float)((i * 7919u) % 2001u) / 1000.f - 1.f;
    if (!rc) rc = prepare(dev, w, k, nn, TW_DTYPE_BF16, &b.w_bf16);
    if (!rc) rc = prepare(dev, w, k, nn, TW_DTYPE_F32, &b.w_f32);
    if (!rc) measure_class(dev, &b, cls, cands, n);
    dev->iface->weight_release(dev, b.w_bf16);
    dev->iface->weight_release(dev, b.w_f32);
    tw_free(w), tw_free(b.a), tw_free(b.c);
  }
  tw_device_destroy(dev);
  return rc;
}

int tw_cpu_measure(tw_cpu_cand *cands, int n, const char *opts) {
  if (hook_fn) {
    for (int i = 0; i < n; i++)
      for (int cls = 0; cls < TW_CPU_N_CLASSES; cls++)
        if (applies(cands[i].ks, cands[i].mode, cls))
          cands[i].gflops[cls] = hook_fn(cands[i].ks->isa, cands[i].mode, cls, hook_user);
    return 0;
  }
  /* candidates come grouped by set (tw_cpu_candidates) */
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && cands[j].ks == cands[i].ks) j++;
    int rc = measure_set(cands + i, j - i, opts);
    if (rc) return rc;
    i = j;
  }
  return 0;
}

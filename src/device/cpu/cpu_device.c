/* `cpu`: the host device.  One kernel that takes any shape and accumulates
 * over K, run through the direct path: weight_prepare packs a weight into
 * the kernel set's NR-wide panels once, gemm runs C = A.W (+ bias) with the
 * blocked loops of gemm.c on the context's thread pool.
 *
 * Options (cfg->options): mc=, kc= override the cache blocking;
 * calibrate=1 measures the kernel choice again, calibrate=0 skips it (the
 * newest set, bf16 compute); cache_dir=PATH for the calibration cache.
 * TW_CPU_KERNEL=generic|avx2|avx512|avx512bf16 forces a kernel set (no
 * calibration); TW_CPU_RECALIBRATE=1 is calibrate=1.  See calib.h.
 * attention=fused (default) or planned (TW_CPU_ATTENTION overrides):
 * whether attention() runs the fused kernels of attention.c or declines, so
 * that the caller runs the planned per-head products. */
#define _GNU_SOURCE /* sysconf(_SC_LEVEL1_DCACHE_SIZE) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/timing.h"
#include "device/cpu/cpu.h"
#include "device/registry.h"

static size_t cache_bytes(int level, size_t fallback) {
  char path[96], text[32];
  /* index0 = L1d, index2 = L2, index3 = L3 on x86 Linux. */
  int index = level == 1 ? 0 : level;
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
  FILE *f = fopen(path, "r");
  if (f) {
    size_t v = 0;
    char unit = 0;
    int ok = fgets(text, sizeof text, f) != NULL && sscanf(text, "%zu%c", &v, &unit) >= 1;
    fclose(f);
    if (ok && v > 0) {
      if (unit == 'K') v <<= 10;
      else if (unit == 'M') v <<= 20;
      if (v >= 4096) return v;
    }
  }
#ifdef _SC_LEVEL1_DCACHE_SIZE
  long s = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE
                   : level == 2 ? _SC_LEVEL2_CACHE_SIZE
                                : _SC_LEVEL3_CACHE_SIZE);
  if (s >= 4096) return (size_t)s;
#endif
  return fallback;
}

static size_t clamp_size(size_t v, size_t lo, size_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* KC: the A micro-panel (MR x kc fp32) takes 7/8 of L1, capped at 512 (the
 * B micro-panel then streams from L2, which keeps up: ~7 bytes per cycle).
 * MC: the packed A block (mc x kc fp32) takes half of L2.  There is no NC:
 * B is packed whole at prepare time and N is split into chunks by gemm.c. */
static tw_cpu_blocking blocking_for(const tw_cpu_kernels *ks, size_t l1, size_t l2) {
  tw_cpu_blocking b;
  size_t mr = (size_t)ks->mr;
  b.kc = clamp_size(l1 * 7 / 8 / (mr * sizeof(float)), 64, 512) / 32 * 32;
  b.mc = clamp_size(l2 / 2 / (b.kc * sizeof(float)), mr, 4096) / mr * mr;
  return b;
}

/* "mc=N" and "kc=N" override the blocking; returns -1 on a bad value. */
static int apply_options(const char *opts, tw_cpu_blocking *b, size_t mr) {
  static const char *const keys[2] = {"mc", "kc"};
  for (int i = 0; i < 2; i++) {
    char v[32], *end;
    if (!tw_option_get(opts, keys[i], v, sizeof v)) continue;
    unsigned long x = strtoul(v, &end, 10);
    if (end == v || *end || x == 0) return -1;
    if (i == 0)
      b->mc = clamp_size(x, mr, 8192) / mr * mr;
    else
      b->kc = clamp_size(x, 8, 8192) / 2 * 2; /* even: KC blocks start on a k-pair */
  }
  return 0;
}

/* Throughput of one core from the fp32 microkernel on cache-resident
 * panels for about half a millisecond; 0 when the buffers cannot be had. */
static double measure_core_flops(const tw_cpu_kernels *ks) {
  const size_t kc = 256, mr = (size_t)ks->mr, nr = (size_t)ks->nr;
  float *a = tw_calloc_aligned(mr * kc + nr * kc + mr * nr, sizeof(float));
  if (!a) return 0.0;
  float *b = a + mr * kc, *c = b + nr * kc;
  long reps = 0;
  double t0 = tw_now(), t;
  do {
    for (int i = 0; i < 16; i++) ks->ukr_f32(kc, a, b, c, nr, ks->mr, ks->nr, 1, NULL);
    reps += 16;
    t = tw_now() - t0;
  } while (t < 5e-4);
  tw_free(a);
  return 2.0 * (double)(mr * nr * kc) * (double)reps / t;
}

/* Packing buffers for a pool of n_threads: one packed-A block each. */
static int scratch_init(const tw_cpu_impl *impl, int n_threads, tw_cpu_scratch *sc) {
  size_t mr = (size_t)impl->ks.mr;
  sc->n_threads = n_threads;
  /* rounded up to 64 bytes: each thread's buffer starts on its own line */
  size_t elems = (impl->blk.mc + mr - 1) / mr * mr * impl->blk.kc;
  if (impl->ks.ukr_dp) { /* its panels (gemm.c rounds MC to them) may be larger */
    size_t dmr = tw_cpu_dp_mr(&impl->ks);
    size_t mc = impl->blk.mc < dmr ? dmr : impl->blk.mc / dmr * dmr;
    size_t words = mc / dmr * tw_cpu_dp_panel_words(&impl->ks, impl->blk.kc);
    if (words > elems) elems = words;
  }
  sc->apack_elems = (elems + 15) / 16 * 16;
  sc->apack = tw_malloc_aligned((size_t)n_threads * sc->apack_elems * sizeof(float));
  sc->work = tw_malloc_aligned((size_t)n_threads * TW_CPU_TASK_WORK_BYTES);
  return sc->apack && sc->work ? TW_OK : TW_ENOMEM;
}

static void scratch_free(tw_cpu_scratch *sc) {
  tw_free(sc->apack);
  tw_free(sc->arows);
  tw_free(sc->attn);
  tw_free(sc->work);
}

static int cpu_stream_create(tw_device *dev, tw_threadpool *pool, void **out) {
  *out = NULL;
  tw_cpu_scratch *sc = tw_calloc_aligned(1, sizeof *sc);
  if (!sc || scratch_init(dev->impl, tw_threadpool_size(pool), sc)) {
    if (sc) scratch_free(sc);
    tw_free(sc);
    return tw_err(NULL, TW_ENOMEM, "cpu: cannot allocate a stream's packing buffers");
  }
  *out = sc;
  return TW_OK;
}

/* The only scratch that grows with the call is the small-M copy of A. */
static int cpu_stream_reserve(tw_device *dev, void *stream, size_t m, size_t k, size_t n) {
  (void)dev;
  (void)n;
  size_t rows = m < TW_CPU_STREAM_MAX_M ? m : TW_CPU_STREAM_MAX_M;
  if (tw_cpu_scratch_arows(stream, rows * (k + 1))) /* k + 1: the k-pairs of odd k */
    return tw_err(NULL, TW_ENOMEM, "cpu: cannot reserve %zu floats for A", rows * (k + 1));
  return TW_OK;
}

static void cpu_stream_destroy(tw_device *dev, void *stream) {
  (void)dev;
  if (!stream) return;
  scratch_free(stream);
  tw_free(stream);
}

static void cpu_describe(const tw_device *dev, char *buf, size_t cap) {
  const tw_cpu_impl *impl = dev->impl;
  /* a dot-product kernel with its own tile height (AMX: 32 x 32) says so */
  char dp[48] = "";
  if (impl->ks.ukr_dp && tw_cpu_dp_mr(&impl->ks) != (size_t)impl->ks.mr)
    snprintf(dp, sizeof dp, "; dot-product MR %zu", tw_cpu_dp_mr(&impl->ks));
  snprintf(buf, cap, "kernel set %s (MR %d, NR %d%s), blocking mc %zu kc %zu", impl->ks.isa,
           impl->ks.mr, impl->ks.nr, dp, impl->blk.mc, impl->blk.kc);
}

static void cpu_calibration(const tw_device *dev, tw_device_calibration *out) {
  const tw_cpu_choice *c = &((const tw_cpu_impl *)dev->impl)->choice;
  static const char *const sources[3] = {"fixed", "measured", "cached"};
  memset(out, 0, sizeof *out);
  out->present = 1;
  snprintf(out->source, sizeof out->source, "%s", sources[c->source]);
  snprintf(out->kernels, sizeof out->kernels, "%s", c->ks->isa);
  for (int cls = 0; cls < TW_CPU_N_CLASSES && cls < 3; cls++) {
    snprintf(out->classes[cls], sizeof out->classes[cls], "%s", tw_cpu_class_name(cls));
    snprintf(out->chosen[cls], sizeof out->chosen[cls], "%s", tw_cpu_mode_name(c->mode[cls]));
  }
  out->n_candidates = c->n_cands < TW_DEVICE_MAX_CHOICES ? c->n_cands : TW_DEVICE_MAX_CHOICES;
  for (int i = 0; i < out->n_candidates; i++) {
    snprintf(out->candidates[i].kernels, sizeof out->candidates[i].kernels, "%s",
             c->cands[i].ks->isa);
    snprintf(out->candidates[i].mode, sizeof out->candidates[i].mode, "%s",
             tw_cpu_mode_name(c->cands[i].mode));
    for (int cls = 0; cls < 3; cls++) out->candidates[i].gflops[cls] = c->cands[i].gflops[cls];
  }
  tw_cpu_choice_describe(c, out->text, sizeof out->text);
}

static void cpu_destroy(tw_device *dev) {
  tw_cpu_impl *impl = dev->impl;
  if (!impl) return;
  scratch_free(&impl->own);
  tw_free(impl);
}

static int cpu_weight_prepare(tw_device *dev, const tw_weight_src *src, void **handle) {
  tw_cpu_impl *impl = dev->impl;
  if (!handle) return tw_err(&dev->err, TW_EINVAL, "cpu: weight_prepare: handle is NULL");
  *handle = NULL;
  if (!src || !src->data) return tw_err(&dev->err, TW_EINVAL, "cpu: weight_prepare: NULL weight");
  if (src->dtype != TW_DTYPE_F32 && src->dtype != TW_DTYPE_BF16 && src->dtype != TW_DTYPE_F16)
    return tw_err(&dev->err, TW_EINVAL, "cpu: weight dtype %d is not F32, BF16 or F16",
                  (int)src->dtype);
  tw_dtype storage = src->storage == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : src->storage;
  if (storage != TW_DTYPE_F32 && storage != TW_DTYPE_BF16)
    return tw_err(&dev->err, TW_EINVAL, "cpu: weight storage %d is not F32 or BF16",
                  (int)src->storage);
  if (src->k == 0 || src->n == 0)
    return tw_err(&dev->err, TW_EINVAL, "cpu: weight is %zu x %zu; both must be > 0", src->k,
                  src->n);
  size_t row = src->transposed ? src->k : src->n;
  if (src->ld < row)
    return tw_err(&dev->err, TW_EINVAL, "cpu: weight %zu x %zu%s: ld %zu < row length %zu",
                  src->k, src->n, src->transposed ? " (transposed)" : "", src->ld, row);
  tw_cpu_weight *w = tw_calloc_aligned(1, sizeof *w);
  if (!w) return tw_err(&dev->err, TW_ENOMEM, "cpu: out of memory");
  w->k = src->k;
  w->n = src->n;
  w->nr = impl->ks.nr;
  w->storage = storage;
  w->n_panels = (src->n + (size_t)w->nr - 1) / (size_t)w->nr;
  w->pairs = storage == TW_DTYPE_BF16 && impl->ks.bf16_pairs;
  w->k_alloc = w->pairs ? src->k + (src->k & 1) : src->k;
  size_t elems, elem = storage == TW_DTYPE_BF16 ? 2 : 4;
  if (src->k > SIZE_MAX / 2 || tw_mul3_size(w->n_panels, w->k_alloc, (size_t)w->nr, &elems) ||
      tw_mul_size(elems, elem, &elems)) {
    tw_free(w);
    return tw_err(&dev->err, TW_EOVERFLOW, "cpu: weight %zu x %zu: size overflows", src->k,
                  src->n);
  }
  size_t rowlen = src->k > src->n ? src->k : src->n;
  w->transposed = src->transposed;
  w->rowbuf = tw_malloc_aligned(2 * rowlen * sizeof *w->rowbuf); /* pack.c: pack_pairs */
  w->data = tw_calloc_aligned(elems, 1);
  if (!w->rowbuf || !w->data) {
    tw_free(w->rowbuf);
    tw_free(w->data);
    tw_free(w);
    return tw_err(&dev->err, TW_ENOMEM, "cpu: cannot allocate %zu bytes for a %zu x %zu weight",
                  elems, src->k, src->n);
  }
  tw_cpu_pack_b_pool(dev->pool, src, w, impl->use_f16c, w->rowbuf);
  *handle = w;
  return TW_OK;
}

/* Repacks new values of the same shape into the weight's panels: no
 * allocation, so per-call B operands (attention's K^T and V) stay cheap. */
static int cpu_weight_update(tw_device *dev, const tw_weight_src *src, void *handle,
                             tw_errbuf *err) {
  tw_cpu_impl *impl = dev->impl;
  tw_cpu_weight *w = handle;
  if (!err) err = &dev->err;
  tw_dtype storage = src->storage == TW_DTYPE_DEFAULT ? TW_DTYPE_BF16 : src->storage;
  if (!w || !src || !src->data)
    return tw_err(err, TW_EINVAL, "cpu: weight_update: NULL weight or data");
  if (src->k != w->k || src->n != w->n || storage != w->storage ||
      src->transposed != w->transposed)
    return tw_err(err, TW_ESHAPE, "cpu: weight_update: %zu x %zu does not match %zu x %zu",
                  src->k, src->n, w->k, w->n);
  if (src->ld < (src->transposed ? src->k : src->n))
    return tw_err(err, TW_EINVAL, "cpu: weight_update: ld %zu is smaller than a row",
                  src->ld);
  tw_cpu_pack_b(src, w, impl->use_f16c, w->rowbuf);
  return TW_OK;
}

static void cpu_weight_release(tw_device *dev, void *handle) {
  (void)dev;
  tw_cpu_weight *w = handle;
  if (!w) return;
  tw_free(w->data);
  tw_free(w->rowbuf);
  tw_free(w);
}

static int cpu_gemm(tw_device *dev, const tw_direct_gemm *g) {
  tw_cpu_impl *impl = dev->impl;
  tw_errbuf *err = g && g->err ? g->err : &dev->err;
  if (!g || !g->a || !g->c || !g->weight)
    return tw_err(err, TW_EINVAL, "cpu: gemm: NULL argument (call, A, C or weight)");
  const tw_cpu_weight *w = g->weight;
  if (g->m == 0 || g->k == 0 || g->n == 0)
    return tw_err(err, TW_EINVAL, "cpu: gemm %zux%zux%zu: every dimension must be > 0",
                  g->m, g->k, g->n);
  if (g->k != w->k || g->n != w->n)
    return tw_err(err, TW_ESHAPE, "cpu: gemm %zux%zux%zu does not match the %zu x %zu weight",
                  g->m, g->k, g->n, w->k, w->n);
  if (w->nr != impl->ks.nr || w->pairs != (w->storage == TW_DTYPE_BF16 && impl->ks.bf16_pairs))
    return tw_err(err, TW_EWRONGDEVICE,
                  "cpu: weight packed %d wide, this device's %s kernels are %d wide", w->nr,
                  impl->ks.isa, impl->ks.nr);
  if (g->a_type != TW_DTYPE_F32 && g->a_type != TW_DTYPE_BF16)
    return tw_err(err, TW_EINVAL, "cpu: A dtype %d is not F32 or BF16", (int)g->a_type);
  if (g->a_compute != TW_DTYPE_DEFAULT && g->a_compute != TW_DTYPE_F32 &&
      g->a_compute != TW_DTYPE_BF16)
    return tw_err(err, TW_EINVAL, "cpu: A compute type %d is not F32 or BF16",
                  (int)g->a_compute);
  if (g->lda < g->k || g->ldc < g->n)
    return tw_err(err, TW_EINVAL, "cpu: gemm %zux%zux%zu: lda %zu < K or ldc %zu < N",
                  g->m, g->k, g->n, g->lda, g->ldc);
  tw_cpu_scratch *sc = g->stream ? g->stream : &impl->own;
  return tw_cpu_gemm_run(dev, g, w, sc, g->pool ? g->pool : dev->pool, err);
}

static const tw_device_iface cpu_iface = {
    .destroy = cpu_destroy,
    .weight_prepare = cpu_weight_prepare,
    .weight_release = cpu_weight_release,
    .epilogues = 1u << TW_EPILOGUE_GELU,
    .gemm_cols_out = 1,
    .weight_update = cpu_weight_update,
    .weight_update_cols = tw_cpu_weight_update_cols,
    .gemm = cpu_gemm,
    .stream_create = cpu_stream_create,
    .stream_reserve = cpu_stream_reserve,
    .stream_destroy = cpu_stream_destroy,
    .describe = cpu_describe,
    .calibration = cpu_calibration,
    .attention = tw_cpu_attention,
    .attention_step = tw_cpu_attention_step,
    .attention_cross = tw_cpu_attention_cross,
};

const char *const tw_cpu_option_keys[] = {"mc", "kc", "attention", "calibrate", "cache_dir", NULL};

/* Option attention=fused|planned, overridden by TW_CPU_ATTENTION; 1 when
 * fused, 0 planned, -1 for another value. */
static int attention_mode(const char *opts) {
  char v[16] = "fused";
  const char *env = getenv("TW_CPU_ATTENTION");
  if (env && *env) snprintf(v, sizeof v, "%s", env);
  else tw_option_get(opts, "attention", v, sizeof v);
  return !strcmp(v, "fused") ? 1 : !strcmp(v, "planned") ? 0 : -1;
}

int tw_cpu_device_make(const tw_cpu_choice *choice, tw_threadpool *pool, const char *opts,
                       tw_device **out) {
  *out = NULL;
  tw_device *dev = tw_device_alloc(&cpu_iface, "cpu");
  tw_cpu_impl *impl = dev ? tw_calloc_aligned(1, sizeof *impl) : NULL;
  if (!impl) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "cpu: out of memory");
  }
  dev->impl = impl;
  dev->pool = pool;
  impl->ks = *choice->ks;
  impl->choice = *choice;
  impl->choice.ks = &impl->ks; /* the caller's set may be a local copy */
  const tw_cpu_kernels ks = impl->ks;
  impl->use_f16c = strcmp(ks.isa, "generic") != 0;
  size_t l1 = cache_bytes(1, 32u << 10), l2 = cache_bytes(2, 512u << 10);
  impl->blk = blocking_for(&ks, l1, l2);
  if (apply_options(opts, &impl->blk, (size_t)ks.mr)) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_EINVAL, "cpu: options '%s': mc and kc must be positive integers", opts);
  }
  if (scratch_init(impl, tw_threadpool_size(dev->pool), &impl->own)) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "cpu: cannot allocate packing buffers");
  }
  tw_kernel_info *ki = &dev->kernels[0];
  snprintf(ki->name, sizeof ki->name, "any");
  ki->flags = TW_KERNEL_ANY_SHAPE | TW_KERNEL_ACCUM_K;
  dev->n_kernels = 1;
  /* Rough figures: the microkernel timed on one core (falling back to
   * 2.5 GHz x 32 flops per cycle) times the threads, at 90%; host memory,
   * so copies are memcpy-speed. */
  double per_core = measure_core_flops(&ks);
  if (per_core <= 0) per_core = 2.5e9 * 32.0;
  dev->costs.flops_per_s = 0.9 * per_core * impl->own.n_threads;
  dev->costs.invoke_s = 2e-6;
  dev->costs.submit_s = 0.0;
  dev->costs.h2d_bytes_per_s = dev->costs.d2h_bytes_per_s = 20e9;
  dev->costs.host_memory = 1;
  *out = dev;
  return TW_OK;
}

/* The kernel choice: forced by TW_CPU_KERNEL (or calibrate=0) as the set
 * runs it, else calibrated (calib.c). */
static int choose_kernels(const char *opts, tw_cpu_kernels *forced, tw_cpu_choice *choice) {
  const char *force = getenv("TW_CPU_KERNEL");
  char v[8];
  int skip = tw_option_get(opts, "calibrate", v, sizeof v) && !strcmp(v, "0");
  if ((force && *force) || skip) {
    if (tw_cpu_kernels_select(force, forced))
      return tw_err(NULL, TW_EUNSUPPORTED,
                    "cpu: TW_CPU_KERNEL='%s' is not a kernel set this CPU runs "
                    "(generic, avx2, avx512, avx512bf16)", force ? force : "");
    tw_cpu_choice_fixed(forced, choice);
    return TW_OK;
  }
  int rc = tw_cpu_calibrate(opts, choice);
  if (rc) return tw_err(NULL, rc, "cpu: kernel calibration failed (%s)", tw_status_name(rc));
  return TW_OK;
}

int tw_cpu_device_create(const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  const char *opts = cfg ? cfg->options : NULL;
  tw_cpu_blocking probe = {1, 2}; /* bad options fail before calibrating */
  if (apply_options(opts, &probe, 1))
    return tw_err(NULL, TW_EINVAL, "cpu: options '%s': mc and kc must be positive integers", opts);
  if (attention_mode(opts) < 0)
    return tw_err(NULL, TW_EINVAL, "cpu: attention (option or TW_CPU_ATTENTION) must be fused "
                  "or planned");
  tw_cpu_kernels forced;
  tw_cpu_choice choice;
  int rc = choose_kernels(opts, &forced, &choice);
  if (!rc) rc = tw_cpu_device_make(&choice, cfg ? cfg->pool : NULL, opts, out);
  if (!rc) ((tw_cpu_impl *)(*out)->impl)->fused_attention = attention_mode(opts);
  return rc;
}

const tw_cpu_choice *tw_cpu_device_choice(const tw_device *dev) {
  return &((const tw_cpu_impl *)dev->impl)->choice;
}

const char *tw_cpu_device_isa(const tw_device *dev) {
  return ((const tw_cpu_impl *)dev->impl)->ks.isa;
}

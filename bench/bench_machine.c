#define _GNU_SOURCE /* syscall() */
/* Machine limits for the GEMM benchmark: FMA throughput (enough independent
 * accumulators to cover FMA latency on two pipes) and memory bandwidth
 * (read-only sum and copy over buffers much larger than the last-level
 * cache), each on every thread of a pool at once. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define BENCH_X86 1
#endif

#define FMA_ITERS 20000000L
#define BW_BYTES (256u << 20)

static double fma_peak_width(int threads, int runs, int wide, double *median_s);

/* Runs fn(arg, t, t) on `threads` threads at once (the caller is thread 0)
 * and waits for all: the benchmarks measure the machine, not a pool. */
typedef void (*bench_task_fn)(void *arg, size_t task, int thread);
typedef struct bench_thread {
  bench_task_fn fn;
  void *arg;
  size_t task;
} bench_thread;

static void *bench_thread_main(void *p) {
  bench_thread *t = p;
  t->fn(t->arg, t->task, (int)t->task);
  return NULL;
}

static void run_parallel(int threads, bench_task_fn fn, void *arg) {
  pthread_t tid[64];
  bench_thread bt[64];
  int started = 0;
  if (threads > 64) threads = 64;
  for (int i = 1; i < threads; i++) {
    bt[i] = (bench_thread){fn, arg, (size_t)i};
    if (pthread_create(&tid[i], NULL, bench_thread_main, &bt[i]) != 0) break;
    started = i;
  }
  fn(arg, 0, 0);
  for (int i = started + 1; i < threads; i++) fn(arg, (size_t)i, i); /* threads that did not start */
  for (int i = 1; i <= started; i++) pthread_join(tid[i], NULL);
}

double tw_bench_median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct fma_job {
  float sink[64];
  long iters;
  int wide; /* 0: 256-bit FMA loop, 1: 512-bit, 2: 512-bit VDPBF16PS, 3: AMX */
} fma_job;

#ifdef BENCH_X86
/* 12 independent chains: 2 pipes x 4-cycle latency needs >= 8. */
__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters) {
  __m256 a[12], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
  for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

/* The same with 512-bit FMAs where the CPU has them (two 512-bit FMA pipes
 * on some Intel parts; double-pumped 256-bit pipes on AMD Zen 4). */
__attribute__((target("avx512f"))) static float fma_loop_avx512(long iters) {
  __m512 a[12], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
  for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

/* The bf16 dot product (AVX512_BF16), 64 flops per instruction: twice an
 * FMA's if it issues as fast.  It does not everywhere (issue 13: a quarter
 * of the FMA rate on Intel family 6 model 207), which is why the cpu
 * device calibrates instead of assuming. */
__attribute__((target("avx512f,avx512bf16"))) static float dp_loop_avx512(long iters) {
  __m512 a[12];
  __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33803380);
  for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], x, y);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}
#endif

/* AMX: four independent 16 x 16 accumulator tiles, each TDPBF16PS 16 x 16
 * x 32 multiply-adds (16,384 flops), the ceiling of the amx kernel set.
 * Needs the process's tile permission (arch_prctl, Linux >= 5.16). */
typedef struct amx_cfg {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} amx_cfg;

__attribute__((target("amx-tile,amx-bf16"))) static float amx_loop(long iters) {
  static const amx_cfg cfg __attribute__((aligned(64))) = {
      .palette = 1, .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
      .rows = {16, 16, 16, 16, 16, 16, 16, 16}};
  static const uint16_t ab[16 * 32] __attribute__((aligned(64)));
  float out[16 * 16] __attribute__((aligned(64)));
  _tile_loadconfig(&cfg);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, ab, 64);
  _tile_loadd(5, ab, 64);
  for (long it = 0; it < iters; it++) {
    _tile_dpbf16ps(0, 4, 5);
    _tile_dpbf16ps(1, 4, 5);
    _tile_dpbf16ps(2, 4, 5);
    _tile_dpbf16ps(3, 4, 5);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  return out[0];
}

static int amx_permitted(void) {
#if defined(__linux__)
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((d >> 24) & 1) || !((d >> 22) & 1)) return 0;
  return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
#else
  return 0;
#endif
}

static void fma_task(void *arg, size_t task, int thread) {
  (void)thread;
  fma_job *j = arg;
#ifdef BENCH_X86
  /* the 512-bit loop does half the iterations with twice the lanes: same flops */
  if (j->wide == 3) j->sink[task % 64] = amx_loop(j->iters / 256); /* 4 x 16384 flops */
  else if (j->wide == 2) j->sink[task % 64] = dp_loop_avx512(j->iters / 4); /* 64 flops each */
  else j->sink[task % 64] = j->wide ? fma_loop_avx512(j->iters / 2) : fma_loop_avx2(j->iters);
#else
  float a = 1.0f;
  for (long it = 0; it < j->iters; it++) a = a * 1.0000001f + 0.9999999f;
  j->sink[task % 64] = a;
#endif
}

/* The faster of the 256-bit and 512-bit loops (medians of `runs` each). */
double tw_bench_fma_peak(int threads, int runs, double *median_s) {
  double best = fma_peak_width(threads, runs, 0, median_s);
#ifdef BENCH_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    double wide_s;
    double wide = fma_peak_width(threads, runs, 1, &wide_s);
    if (wide > best) {
      best = wide;
      *median_s = wide_s;
    }
  }
#endif
  return best;
}

double tw_bench_amx_peak(int threads, int runs, double *median_s) {
  *median_s = 0;
#ifdef BENCH_X86
  if (amx_permitted()) return fma_peak_width(threads, runs, 3, median_s);
#else
  (void)threads, (void)runs;
#endif
  return 0;
}

double tw_bench_dp_peak(int threads, int runs, double *median_s) {
  *median_s = 0;
#ifdef BENCH_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bf16")) return fma_peak_width(threads, runs, 2, median_s);
#else
  (void)threads, (void)runs;
#endif
  return 0;
}

static double fma_peak_width(int threads, int runs, int wide, double *median_s) {
  fma_job j = {.iters = FMA_ITERS, .wide = wide};
#ifdef BENCH_X86
  double flops_per_iter = 12.0 * 8.0 * 2.0;
#else
  double flops_per_iter = 2.0;
#endif
  double t[64];
  if (runs > 64) runs = 64;
  run_parallel(threads, fma_task, &j); /* warm up, clocks up */
  for (int r = 0; r < runs; r++) {
    double t0 = tw_cli_now();
    run_parallel(threads, fma_task, &j);
    t[r] = tw_cli_now() - t0;
  }
  *median_s = tw_bench_median(t, runs);
  return (double)threads * (double)j.iters * flops_per_iter / *median_s;
}

typedef struct bw_job {
  const float *src;
  float *dst;
  size_t n; /* floats */
  int parts;
  float sink[64];
} bw_job;

#ifdef BENCH_X86
__attribute__((target("avx2"))) static float read_sum_avx2(const float *x, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(x + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(x + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(x + i + 24));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return out[0];
}
#endif

static void read_task(void *arg, size_t task, int thread) {
  (void)thread;
  bw_job *j = arg;
  size_t lo = j->n * task / (size_t)j->parts / 64 * 64;
  size_t hi = j->n * (task + 1) / (size_t)j->parts / 64 * 64;
#ifdef BENCH_X86
  j->sink[task % 64] = read_sum_avx2(j->src + lo, hi - lo);
#else
  float s[16] = {0};
  for (size_t i = lo; i + 16 <= hi; i += 16)
    for (int u = 0; u < 16; u++) s[u] += j->src[i + (size_t)u];
  float t = 0;
  for (int u = 0; u < 16; u++) t += s[u];
  j->sink[task % 64] = t;
#endif
}

static void copy_task(void *arg, size_t task, int thread) {
  (void)thread;
  bw_job *j = arg;
  size_t lo = j->n * task / (size_t)j->parts, hi = j->n * (task + 1) / (size_t)j->parts;
  memcpy(j->dst + lo, j->src + lo, (hi - lo) * sizeof(float));
}

static double bw_run(int threads, int runs, int copy, double *median_s) {
  size_t n = BW_BYTES / sizeof(float);
  float *src = aligned_alloc(64, BW_BYTES), *dst = copy ? aligned_alloc(64, BW_BYTES) : NULL;
  if (!src || (copy && !dst)) {
    free(src);
    free(dst);
    *median_s = 0.0;
    return 0.0;
  }
  for (size_t i = 0; i < n; i++) src[i] = (float)(i & 255);
  if (dst) memset(dst, 0, BW_BYTES);
  bw_job j = {.src = src, .dst = dst, .n = n, .parts = threads};
  bench_task_fn fn = copy ? copy_task : read_task;
  double t[64];
  if (runs > 64) runs = 64;
  run_parallel(j.parts, fn, &j);
  for (int r = 0; r < runs; r++) {
    double t0 = tw_cli_now();
    run_parallel(j.parts, fn, &j);
    t[r] = tw_cli_now() - t0;
  }
  free(src);
  free(dst);
  *median_s = tw_bench_median(t, runs);
  return (copy ? 2.0 : 1.0) * (double)BW_BYTES / *median_s;
}

double tw_bench_read_bw(int threads, int runs, double *median_s) {
  return bw_run(threads, runs, 0, median_s);
}
double tw_bench_copy_bw(int threads, int runs, double *median_s) {
  return bw_run(threads, runs, 1, median_s);
}

/* `tilewhisper bench --gemm`: the cpu device against OpenBLAS sgemm on the
 * GEMM shapes of Whisper's encoder and decoder, at 1 and 2 threads (or
 * --threads N), with the measured FMA peak and memory bandwidth as the
 * yardsticks.  Every figure is the median of --runs timed runs (default 7),
 * each run long enough (>= 20 ms, repeating the call) to time reliably. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/mem.h"
#include "core/timing.h"
#include "device/cpu/cpu.h"
#include "device/device.h"

#ifdef TW_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct shape {
  size_t m, k, n;
} shape;

static const shape shapes[] = {
    {3001, 512, 512}, {1500, 512, 2048}, {1500, 2048, 512}, {1500, 64, 1500},
    {1, 512, 51865},  {1, 512, 2048},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

typedef struct bench_opts {
  int json, runs, threads[2], n_threads, quick;
  const char *options; /* cpu device options (mc=, kc=) */
  const char *only;    /* run only this shape, "MxKxN" */
} bench_opts;

typedef struct result {
  double median_s, gflops;
  int runs;
} result;

typedef struct call {
  tw_device *dev;
  tw_direct_gemm g;
#ifdef TW_HAVE_OPENBLAS
  int openblas;
  const float *w;
#endif
} call;

static int call_run(call *c) {
#ifdef TW_HAVE_OPENBLAS
  if (c->openblas) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->g.m, (int)c->g.n, (int)c->g.k,
                1.0f, c->g.a, (int)c->g.lda, c->w, (int)c->g.n, 0.0f, c->g.c, (int)c->g.ldc);
    return 0;
  }
#endif
  return c->dev->iface->gemm(c->dev, &c->g);
}

/* Times the calls of one shape run by run in turn (A B C A B C ...), so that
 * load from other processes falls on all of them alike; each run repeats a
 * call for >= 20 ms.  Fills out[i] with medians. */
static int time_calls(call *calls, int n, const shape *s, int runs, result *out) {
  long reps[4];
  double t[4][64];
  if (runs > 64) runs = 64;
  for (int i = 0; i < n; i++) {
    if (call_run(&calls[i])) return -1; /* warm up */
    double t0 = tw_now();
    if (call_run(&calls[i])) return -1;
    double once = tw_now() - t0;
    reps[i] = once > 0 ? (long)(0.02 / once) + 1 : 1;
  }
  for (int r = 0; r < runs; r++)
    for (int i = 0; i < n; i++) {
      double t0 = tw_now();
      for (long k = 0; k < reps[i]; k++) call_run(&calls[i]);
      t[i][r] = (tw_now() - t0) / (double)reps[i];
    }
  for (int i = 0; i < n; i++) {
    out[i].median_s = tw_bench_median(t[i], runs);
    out[i].gflops = 2.0 * (double)s->m * (double)s->k * (double)s->n / out[i].median_s * 1e-9;
    out[i].runs = runs;
  }
  return 0;
}

static void emit(const bench_opts *o, const shape *s, const char *impl, int threads,
                 const result *r, double peak, double blas, double bw) {
  char sh[64];
  snprintf(sh, sizeof sh, "%zux%zux%zu", s->m, s->k, s->n);
  /* small M is memory-bound: report the weight bytes streamed per second */
  int small = s->m <= 4;
  size_t elem = strncmp(impl, "tw-bf16", 7) == 0 ? 2 : 4;
  double gbps = (double)(s->k * s->n * elem) / r->median_s * 1e-9;
  if (o->json) {
    printf("{\"shape\":\"%s\",\"impl\":\"%s\",\"threads\":%d,\"gflops\":%.3f,\"median_s\":%.6g,"
           "\"runs\":%d,\"pct_peak\":%.1f",
           sh, impl, threads, r->gflops, r->median_s, r->runs, 100.0 * r->gflops * 1e9 / peak);
    if (blas > 0) printf(",\"vs_openblas\":%.3f", r->gflops / blas);
    if (small) printf(",\"gbps\":%.2f,\"pct_bw\":%.1f", gbps, 100.0 * gbps * 1e9 / bw);
    printf("}\n");
    return;
  }
  printf("%-16s %-11s %2d %9.2f %7.1f%%", sh, impl, threads, r->gflops,
         100.0 * r->gflops * 1e9 / peak);
  if (blas > 0)
    printf(" %6.2fx", r->gflops / blas);
  else
    printf(" %7s", "-");
  if (small) printf("   %6.2f GB/s = %5.1f%% of read bw", gbps, 100.0 * gbps * 1e9 / bw);
  printf("\n");
}

static int bench_threads(const bench_opts *o, int threads) {
  tw_threadpool *pool = NULL;
  tw_device *dev = NULL;
  if (tw_threadpool_create(threads, &pool)) return 1;
  tw_device_config cfg = {.pool = pool, .options = o->options};
  int rc = tw_device_create("cpu", &cfg, &dev);
  if (rc) {
    fprintf(stderr, "bench: cpu device: %s\n", tw_last_error());
    tw_threadpool_destroy(pool);
    return 1;
  }
  double peak_s, rbw_s, cbw_s;
  double peak = tw_bench_fma_peak(pool, o->runs, &peak_s);
  double rbw = tw_bench_read_bw(pool, o->runs, &rbw_s);
  double cbw = tw_bench_copy_bw(pool, o->runs, &cbw_s);
  if (o->json) {
    printf("{\"shape\":\"-\",\"impl\":\"fma-peak\",\"threads\":%d,\"gflops\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, peak * 1e-9, peak_s, o->runs);
    printf("{\"shape\":\"read\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, rbw * 1e-9, rbw_s, o->runs);
    printf("{\"shape\":\"copy\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, cbw * 1e-9, cbw_s, o->runs);
  } else {
    printf("\n== %d thread%s: cpu kernels %s, FMA peak %.1f GFLOP/s, read %.1f GB/s, "
           "copy %.1f GB/s\n", threads, threads > 1 ? "s" : "", tw_cpu_device_isa(dev), peak * 1e-9,
           rbw * 1e-9, cbw * 1e-9);
    printf("%-16s %-11s %2s %9s %8s %7s\n", "shape MxKxN", "impl", "t", "GFLOP/s", "%peak",
           "/blas");
  }
#ifdef TW_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#else
  if (o->json)
    printf("{\"shape\":\"-\",\"impl\":\"openblas\",\"threads\":%d,\"absent\":true}\n", threads);
  else
    printf("openblas: absent (built without TW_HAVE_OPENBLAS)\n");
#endif
  int status = 0;
  for (size_t si = 0; si < N_SHAPES; si++) {
    const shape *s = &shapes[si];
    if (o->quick && s->m * s->k * s->n > 600000000u) continue;
    char name[64];
    snprintf(name, sizeof name, "%zux%zux%zu", s->m, s->k, s->n);
    if (o->only && strcmp(o->only, name) != 0) continue;
    float *a = tw_malloc_aligned(s->m * s->k * sizeof(float));
    float *w = tw_malloc_aligned(s->k * s->n * sizeof(float));
    float *c = tw_malloc_aligned(s->m * s->n * sizeof(float));
    if (!a || !w || !c) {
      tw_free(a), tw_free(w), tw_free(c);
      status = 1;
      break;
    }
    for (size_t i = 0; i < s->m * s->k; i++) a[i] = (float)((i * 7919u) % 2001u) / 1000.0f - 1.0f;
    for (size_t i = 0; i < s->k * s->n; i++) w[i] = (float)((i * 104729u) % 2003u) / 1000.0f - 1.0f;
    /* calls[0..1]: tw-bf16 (A computed in bf16), tw-fp32 (A in fp32);
     * calls[3]: openblas when built in */
    /* calls[2]: bf16 weights with A kept fp32 (the FMA kernels, not the
     * bf16 dot-product one), to compare the weight storages alone */
    call calls[4];
    const char *names[4] = {"tw-bf16", "tw-fp32", "tw-bf16-a32", "openblas"};
    void *handles[2] = {NULL, NULL};
    int n_calls = 0;
    for (int st = 0; st < 2; st++) {
      tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = s->k, .n = s->n, .ld = s->n,
                           .storage = st ? TW_DTYPE_F32 : TW_DTYPE_BF16};
      if (dev->iface->weight_prepare(dev, &src, &handles[st])) {
        fprintf(stderr, "bench: prepare: %s\n", dev->err.msg);
        status = 1;
        break;
      }
      calls[n_calls++] = (call){.dev = dev,
                                .g = {.m = s->m, .k = s->k, .n = s->n, .a = a,
                                      .a_type = TW_DTYPE_F32, .lda = s->k,
                                      .a_compute = st ? TW_DTYPE_F32 : TW_DTYPE_BF16,
                                      .weight = handles[st], .c = c, .ldc = s->n}};
    }
    if (n_calls == 2) {
      calls[n_calls] = calls[0];
      calls[n_calls++].g.a_compute = TW_DTYPE_F32;
    }
#ifdef TW_HAVE_OPENBLAS
    if (n_calls == 3)
      calls[n_calls++] = (call){.g = {.m = s->m, .k = s->k, .n = s->n, .a = a, .lda = s->k,
                                      .c = c, .ldc = s->n},
                                .openblas = 1,
                                .w = w};
#endif
    result r[4];
    if (n_calls >= 3 && time_calls(calls, n_calls, s, o->runs, r) == 0) {
      double blas = n_calls == 4 ? r[3].gflops : 0;
      if (n_calls == 4) emit(o, s, names[3], threads, &r[3], peak, 0, rbw);
      for (int i = 0; i < 3; i++) emit(o, s, names[i], threads, &r[i], peak, blas, rbw);
    } else {
      status = 1;
    }
    for (int st = 0; st < 2; st++) dev->iface->weight_release(dev, handles[st]);
    tw_free(a), tw_free(w), tw_free(c);
  }
  tw_device_destroy(dev);
  tw_threadpool_destroy(pool);
  return status;
}

int tw_bench_gemm(int argc, char **argv) {
  bench_opts o = {.runs = 7, .threads = {1, 2}, .n_threads = 2};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      o.json = 1;
    } else if (!strcmp(argv[i], "--quick")) {
      o.quick = 1;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: tilewhisper bench --gemm [--json] [--runs N] [--threads N] [--quick] "
             "[--shape MxKxN] [--options mc=,kc=]\n");
      return 0;
    } else if (!strcmp(argv[i], "--gemm")) {
      /* the subcommand's own flag */
    } else if (!strcmp(argv[i], "--options") && i + 1 < argc) {
      o.options = argv[++i];
    } else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
      o.only = argv[++i];
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      o.runs = atoi(argv[++i]);
      if (o.runs < 1 || o.runs > 64) {
        fprintf(stderr, "bench: --runs must be 1..64\n");
        return 2;
      }
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      o.threads[0] = atoi(argv[++i]);
      o.n_threads = 1;
      if (o.threads[0] < 1 || o.threads[0] > 256) {
        fprintf(stderr, "bench: --threads must be 1..256\n");
        return 2;
      }
    } else {
      fprintf(stderr, "bench: unknown option '%s' (--json --runs N --threads N --quick --shape MxKxN --options mc=,kc=)\n",
              argv[i]);
      return 2;
    }
  }
  int status = 0;
  for (int t = 0; t < o.n_threads; t++) status |= bench_threads(&o, o.threads[t]);
  return status;
}

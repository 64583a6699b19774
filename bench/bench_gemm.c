/* `tilewhisper bench --gemm`: the cpu device against OpenBLAS sgemm on the
 * GEMM shapes of Whisper's encoder and decoder, at 1 and 2 threads (or
 * --threads N), with the measured FMA peak and memory bandwidth as the
 * yardsticks.  Every figure is the median of --runs timed runs (default 7),
 * each run long enough (>= 20 ms, repeating the call) to time reliably. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

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

/* One timed call: C = A . W through the engine on a stream, or OpenBLAS. */
typedef struct call {
  tw_stream *s;
  size_t m, k, n;
  const float *a;
  float *c;
  const tw_weight *weight;
  tw_gemm_options opts;
#ifdef TW_HAVE_OPENBLAS
  int openblas;
  const float *w;
#endif
} call;

static int call_run(call *c) {
#ifdef TW_HAVE_OPENBLAS
  if (c->openblas) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->m, (int)c->n, (int)c->k, 1.0f,
                c->a, (int)c->k, c->w, (int)c->n, 0.0f, c->c, (int)c->n);
    return 0;
  }
#endif
  return tw_gemm_ex(c->s, c->m, c->k, c->a, TW_DTYPE_F32, c->k, c->weight, c->c, c->n, &c->opts,
                    NULL);
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
    double t0 = tw_cli_now();
    if (call_run(&calls[i])) return -1;
    double once = tw_cli_now() - t0;
    reps[i] = once > 0 ? (long)(0.02 / once) + 1 : 1;
  }
  for (int r = 0; r < runs; r++)
    for (int i = 0; i < n; i++) {
      double t0 = tw_cli_now();
      for (long k = 0; k < reps[i]; k++) call_run(&calls[i]);
      t[i][r] = (tw_cli_now() - t0) / (double)reps[i];
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
  tw_device *dev = NULL;
  tw_stream *stream = NULL;
  tw_device_options dopt;
  tw_device_options_init(&dopt);
  dopt.threads = threads;
  dopt.options = o->options;
  tw_stream_options sopt;
  tw_stream_options_init(&sopt);
  sopt.borrow_device_pool = 1;
  tw_device_info info;
  if (tw_device_create(&dopt, &dev) || tw_stream_create(dev, &sopt, &stream) ||
      tw_device_query(dev, &info)) {
    fprintf(stderr, "bench: cpu device: %s\n", tw_last_error());
    tw_stream_destroy(stream);
    tw_device_destroy(dev);
    return 1;
  }
  double peak_s, rbw_s, cbw_s;
  double peak = tw_bench_fma_peak(threads, o->runs, &peak_s);
  double rbw = tw_bench_read_bw(threads, o->runs, &rbw_s);
  double cbw = tw_bench_copy_bw(threads, o->runs, &cbw_s);
  if (o->json) {
    printf("{\"shape\":\"-\",\"impl\":\"fma-peak\",\"threads\":%d,\"gflops\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, peak * 1e-9, peak_s, o->runs);
    printf("{\"shape\":\"read\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, rbw * 1e-9, rbw_s, o->runs);
    printf("{\"shape\":\"copy\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, cbw * 1e-9, cbw_s, o->runs);
  } else {
    printf("\n== %d thread%s: cpu kernels %s, FMA peak %.1f GFLOP/s, read %.1f GB/s, "
           "copy %.1f GB/s\n", threads, threads > 1 ? "s" : "", info.detail, peak * 1e-9,
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
    float *a = malloc(s->m * s->k * sizeof(float));
    float *w = malloc(s->k * s->n * sizeof(float));
    float *c = malloc(s->m * s->n * sizeof(float));
    if (!a || !w || !c) {
      free(a), free(w), free(c);
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
    tw_weight *handles[2] = {NULL, NULL};
    int n_calls = 0;
    for (int st = 0; st < 2; st++) {
      tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = s->k, .n = s->n, .ld = s->n,
                          .storage = st ? TW_DTYPE_F32 : TW_DTYPE_BF16, .name = "W"};
      if (tw_weight_prepare(dev, &d, &handles[st])) {
        fprintf(stderr, "bench: prepare: %s\n", tw_device_last_error(dev));
        status = 1;
        break;
      }
      calls[n_calls++] = (call){.s = stream, .m = s->m, .k = s->k, .n = s->n, .a = a, .c = c,
                                .weight = handles[st],
                                .opts = {.a_compute = st ? TW_DTYPE_F32 : TW_DTYPE_BF16}};
    }
    if (n_calls == 2) {
      calls[n_calls] = calls[0];
      calls[n_calls++].opts.a_compute = TW_DTYPE_F32;
    }
#ifdef TW_HAVE_OPENBLAS
    if (n_calls == 3)
      calls[n_calls++] = (call){.m = s->m, .k = s->k, .n = s->n, .a = a, .c = c, .openblas = 1,
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
    for (int st = 0; st < 2; st++) tw_weight_destroy(handles[st]);
    free(a), free(w), free(c);
  }
  tw_stream_destroy(stream);
  tw_device_destroy(dev);
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

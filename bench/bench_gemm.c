/* `tilewhisper bench --gemm`: the cpu device against OpenBLAS sgemm on the
 * GEMM shapes of Whisper's encoder and decoder, at 1 and 2 threads (or
 * --threads N), against a fair OpenBLAS core (bench_blas.c), with the measured FMA peak and memory bandwidth as the
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
  int blas_only; /* --openblas-only: the fair-core child (bench_blas.c) */
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
  long reps[5];
  double t[5][64];
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
  size_t elem = strncmp(impl, "tw-bf16", 7) == 0 || strcmp(impl, "tw-default") == 0 ? 2 : 4;
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
  printf("%-16s %-13s %2d %9.2f %7.1f%%", sh, impl, threads, r->gflops,
         100.0 * r->gflops * 1e9 / peak);
  if (blas > 0)
    printf(" %6.2fx", r->gflops / blas);
  else
    printf(" %7s", "-");
  if (small) printf("   %6.2f GB/s = %5.1f%% of read bw", gbps, 100.0 * gbps * 1e9 / bw);
  printf("\n");
}

/* Fills a (M x K) and w (K x N) with a fixed pattern in [-1, 1]. */
static void fill_operands(const shape *s, float *a, float *w) {
  for (size_t i = 0; i < s->m * s->k; i++) a[i] = (float)((i * 7919u) % 2001u) / 1000.0f - 1.0f;
  for (size_t i = 0; i < s->k * s->n; i++) w[i] = (float)((i * 104729u) % 2003u) / 1000.0f - 1.0f;
}

static int shape_selected(const bench_opts *o, const shape *s, char *name, size_t cap) {
  snprintf(name, cap, "%zux%zux%zu", s->m, s->k, s->n);
  if (o->quick && s->m * s->k * s->n > 600000000u) return 0;
  return !o->only || strcmp(o->only, name) == 0;
}

/* `--openblas-only`: what a child run with OPENBLAS_CORETYPE set prints for
 * its parent (bench_blas.c): "core NAME", then "SHAPE MEDIAN_S GFLOPS". */
static int bench_blas_only(const bench_opts *o) {
#ifdef TW_HAVE_OPENBLAS
  openblas_set_num_threads(o->threads[0]);
  printf("core %s\n", tw_bench_blas_corename());
  for (size_t si = 0; si < N_SHAPES; si++) {
    const shape *s = &shapes[si];
    char name[64];
    if (!shape_selected(o, s, name, sizeof name)) continue;
    float *a = malloc(s->m * s->k * sizeof(float));
    float *w = malloc(s->k * s->n * sizeof(float));
    float *c = malloc(s->m * s->n * sizeof(float));
    int ok = a && w && c;
    result r;
    if (ok) {
      fill_operands(s, a, w);
      call bc = {.m = s->m, .k = s->k, .n = s->n, .a = a, .c = c, .openblas = 1, .w = w};
      ok = time_calls(&bc, 1, s, o->runs, &r) == 0;
    }
    if (ok) printf("%s %.9g %.6g\n", name, r.median_s, r.gflops);
    free(a), free(w), free(c);
    if (!ok) return 1;
  }
  return 0;
#else
  (void)o;
  return 1;
#endif
}

/* The fair OpenBLAS core on shape `only`, measured in a child when the
 * autodetected core is a generic fallback, just before the parent times the
 * same shape (so that both see about the same load from other processes);
 * *n_rows = 0 when not needed or it failed (said). */
static void fair_blas(const bench_opts *o, int threads, const char *only, tw_blas_row *rows,
                      int *n_rows, char *core, size_t cap) {
  *n_rows = 0;
  core[0] = '\0';
#ifdef TW_HAVE_OPENBLAS
  const char *fair = tw_bench_blas_fair_core();
  if (!fair) return;
  int n = tw_bench_blas_child(fair, threads, o->runs, only, o->quick, rows, (int)N_SHAPES, core,
                              cap);
  if (n < 0) {
    fprintf(stderr, "bench: OpenBLAS with OPENBLAS_CORETYPE=%s failed in the child\n", fair);
    return;
  }
  if (!core[0]) snprintf(core, cap, "%s", fair);
  *n_rows = n;
#else
  (void)o, (void)threads, (void)only, (void)rows, (void)cap;
#endif
}

/* m: FMA peak, read and copy bandwidth, VDPBF16PS and AMX peaks (0: none),
 * each followed by its median time. */
static void print_header(const bench_opts *o, const char *kernels, int threads, const double m[10],
                         const char *fair_core) {
  const double peak = m[0], peak_s = m[1], rbw = m[2], rbw_s = m[3], cbw = m[4], cbw_s = m[5];
  const double dp = m[6], dp_s = m[7], amx = m[8], amx_s = m[9];
  char env[256];
  tw_bench_blas_env(env, sizeof env);
  const char *core = tw_bench_blas_corename();
  if (o->json) {
    printf("{\"shape\":\"-\",\"impl\":\"fma-peak\",\"threads\":%d,\"gflops\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, peak * 1e-9, peak_s, o->runs);
    printf("{\"shape\":\"read\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, rbw * 1e-9, rbw_s, o->runs);
    printf("{\"shape\":\"copy\",\"impl\":\"stream-bw\",\"threads\":%d,\"gbps\":%.3f,"
           "\"median_s\":%.6g,\"runs\":%d}\n", threads, cbw * 1e-9, cbw_s, o->runs);
    if (dp > 0)
      printf("{\"shape\":\"-\",\"impl\":\"vdpbf16ps-peak\",\"threads\":%d,\"gflops\":%.3f,"
             "\"median_s\":%.6g,\"runs\":%d}\n", threads, dp * 1e-9, dp_s, o->runs);
    if (amx > 0)
      printf("{\"shape\":\"-\",\"impl\":\"amx-peak\",\"threads\":%d,\"gflops\":%.3f,"
             "\"median_s\":%.6g,\"runs\":%d}\n", threads, amx * 1e-9, amx_s, o->runs);
    printf("{\"shape\":\"-\",\"impl\":\"openblas-core\",\"threads\":%d,\"core\":\"%s\","
           "\"fair_core\":\"%s\",\"env\":\"%s\",\"cpu_kernels\":\"%s\"}\n", threads, core,
           fair_core[0] ? fair_core : core, env, kernels);
    return;
  }
  printf("\n== %d thread%s: cpu kernels %s, FMA peak %.1f GFLOP/s, read %.1f GB/s, "
         "copy %.1f GB/s\n", threads, threads > 1 ? "s" : "", kernels, peak * 1e-9,
         rbw * 1e-9, cbw * 1e-9);
  if (dp > 0)
    printf("VDPBF16PS peak %.1f GFLOP/s = %.2fx the FMA peak (ceiling of the bf16 dot-product "
           "kernel)\n", dp * 1e-9, dp / peak);
  if (amx > 0)
    printf("AMX TDPBF16PS peak %.1f GFLOP/s = %.2fx the FMA peak (ceiling of the amx kernels; "
           "%%peak below is of the FMA peak)\n", amx * 1e-9, amx / peak);
  printf("openblas core %s (autodetected; %s)\n", core, env);
  if (fair_core[0])
    printf("  %s is a generic fallback on this CPU: /blas compares against OpenBLAS re-run in a "
           "child with OPENBLAS_CORETYPE=%s (row openblas-fair)\n", core, fair_core);
  printf("%-16s %-13s %2s %9s %8s %7s\n", "shape MxKxN", "impl", "t", "GFLOP/s", "%peak",
         "/blas");
}

/* The rows of one shape: calls[0] openblas-fair (from the child, when
 * any), then the tw calls and the autodetected OpenBLAS. */
typedef struct shape_calls {
  call c[5];
  const char *names[5];
  int n;
  tw_weight *handles[3];
} shape_calls;

/* tw-default: the device's choice for default options (storage and A
 * compute left to it); tw-bf16 (bf16 weights, A rounded to bf16); tw-fp32;
 * tw-bf16-a32 (bf16 weights, A kept fp32: the FMA kernels alone). */
static int prepare_calls(tw_device *dev, tw_stream *stream, const shape *s, float *a, float *w,
                         float *c, shape_calls *sc) {
  static const tw_dtype storage[3] = {TW_DTYPE_DEFAULT, TW_DTYPE_BF16, TW_DTYPE_F32};
  static const tw_dtype compute[4] = {TW_DTYPE_DEFAULT, TW_DTYPE_BF16, TW_DTYPE_F32, TW_DTYPE_F32};
  static const char *const names[4] = {"tw-default", "tw-bf16", "tw-fp32", "tw-bf16-a32"};
  memset(sc, 0, sizeof *sc);
  for (int st = 0; st < 3; st++) {
    tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = s->k, .n = s->n, .ld = s->n,
                        .storage = storage[st], .name = "W"};
    if (tw_weight_prepare(dev, &d, &sc->handles[st])) {
      fprintf(stderr, "bench: prepare: %s\n", tw_device_last_error(dev));
      return -1;
    }
  }
  for (int i = 0; i < 4; i++) {
    sc->names[sc->n] = names[i];
    sc->c[sc->n++] = (call){.s = stream, .m = s->m, .k = s->k, .n = s->n, .a = a, .c = c,
                            .weight = sc->handles[i == 3 ? 1 : i],
                            .opts = {.a_compute = compute[i]}};
  }
#ifdef TW_HAVE_OPENBLAS
  sc->names[sc->n] = "openblas";
  sc->c[sc->n++] = (call){.m = s->m, .k = s->k, .n = s->n, .a = a, .c = c, .openblas = 1,
                          .w = w};
#endif
  return 0;
}

static int bench_shape(const bench_opts *o, tw_device *dev, tw_stream *stream, const shape *s,
                       int threads,
                       double peak, double rbw, const tw_blas_row *fair) {
  float *a = malloc(s->m * s->k * sizeof(float));
  float *w = malloc(s->k * s->n * sizeof(float));
  float *c = malloc(s->m * s->n * sizeof(float));
  shape_calls sc = {0};
  int status = 1;
  result r[5];
  if (a && w && c) {
    fill_operands(s, a, w);
    if (prepare_calls(dev, stream, s, a, w, c, &sc) == 0 &&
        time_calls(sc.c, sc.n, s, o->runs, r) == 0)
      status = 0;
  }
  if (status == 0) {
    int blas_i = sc.n - 1, have_blas = !strcmp(sc.names[blas_i], "openblas");
    double blas = fair ? fair->gflops : have_blas ? r[blas_i].gflops : 0;
    if (fair) {
      result fr = {.median_s = fair->median_s, .gflops = fair->gflops, .runs = o->runs};
      emit(o, s, "openblas-fair", threads, &fr, peak, 0, rbw);
    }
    if (have_blas) emit(o, s, "openblas", threads, &r[blas_i], peak, fair ? blas : 0, rbw);
    for (int i = 0; i < sc.n - have_blas; i++)
      emit(o, s, sc.names[i], threads, &r[i], peak, blas, rbw);
  }
  for (int st = 0; st < 3; st++) tw_weight_destroy(sc.handles[st]);
  free(a), free(w), free(c);
  return status;
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
  const char *kernels = info.calibration.present ? info.calibration.kernels : info.detail;
  tw_blas_row fair[N_SHAPES];
  int n_fair = 0;
  char fair_core[64] = "";
#ifdef TW_HAVE_OPENBLAS
  const char *want = tw_bench_blas_fair_core();
  if (want) snprintf(fair_core, sizeof fair_core, "%s", want);
#endif
  double peak_s, rbw_s, cbw_s, dp_s, amx_s;
  double peak = tw_bench_fma_peak(threads, o->runs, &peak_s);
  double dp = tw_bench_dp_peak(threads, o->runs, &dp_s);
  double amx = tw_bench_amx_peak(threads, o->runs, &amx_s);
  double rbw = tw_bench_read_bw(threads, o->runs, &rbw_s);
  double cbw = tw_bench_copy_bw(threads, o->runs, &cbw_s);
  print_header(o, kernels, threads,
               (const double[]){peak, peak_s, rbw, rbw_s, cbw, cbw_s, dp, dp_s, amx, amx_s},
               fair_core);
  char ran_as[64] = "";
#ifdef TW_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#else
  if (o->json)
    printf("{\"shape\":\"-\",\"impl\":\"openblas\",\"threads\":%d,\"absent\":true}\n", threads);
  else
    printf("openblas: absent (built without TW_HAVE_OPENBLAS)\n");
#endif
  int status = 0;
  for (size_t si = 0; si < N_SHAPES && !status; si++) {
    const shape *s = &shapes[si];
    char name[64];
    if (!shape_selected(o, s, name, sizeof name)) continue;
    const tw_blas_row *fr = NULL;
    if (fair_core[0]) fair_blas(o, threads, name, fair, &n_fair, ran_as, sizeof ran_as);
    for (int i = 0; i < n_fair; i++)
      if (!strcmp(fair[i].shape, name)) fr = &fair[i];
    status = bench_shape(o, dev, stream, s, threads, peak, rbw, fr);
  }
  if (ran_as[0] && !o->json)
    printf("openblas-fair ran as core %s (as the child reports it)\n", ran_as);
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
    } else if (!strcmp(argv[i], "--openblas-only")) {
      o.blas_only = 1; /* the child of bench_blas.c */
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
  if (o.blas_only) return bench_blas_only(&o);
  int status = 0;
  for (int t = 0; t < o.n_threads; t++) status |= bench_threads(&o, o.threads[t]);
  return status;
}

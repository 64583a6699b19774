/* tilewhisper bench --opencl: the seed's strategies on a queue device (default
 * "opencl"), with measured wall times.
 *
 * Cases: the seed's (3001,512)@(512,512) projection, and a Whisper-base
 * encoder matmul set (6 layers x Q, K, V, O 1500x512x512, fc1 1500x512x2048,
 * fc2 1500x2048x512; weights resident, prepared once).  Strategies:
 *
 *   naive          the seed's loop (tw_study_tile_gemm) on a device of its
 *                  own: per 64x64x64 invocation, allocate three device
 *                  buffers, convert both tiles on the host, write, run,
 *                  read, wait, free, and add the partial tile into C on the
 *                  host
 *   seed-MxKxN     the engine with that fixed kernel and the host K loop
 *                  (weights resident; 3008 / 376 / 192 invocations)
 *   devk-MxKxNa    the same shapes accumulating over K on the device
 *   whole-matrix   the engine forced onto the "any" kernel (one invocation)
 *   planned        the planner's choice on the default kernel set
 *   any-kernel     the "any" kernel's own time (device profiling), no host
 *                  work: the kernel's GFLOP/s
 *
 * Each strategy runs once untimed, then --runs times (default 3); wall_s is
 * the median total over the case's matmuls.  rel_err: relative Frobenius
 * error against the fp64 reference on bf16-rounded inputs (for the encoder,
 * the largest over layer 0's Q, fc1 and fc2, one per shape). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

#define MAX_MATS 36

typedef struct mat {
  size_t m, k, n;
  const float *a; /* shared activations */
  float *w, *c;
  double *ref; /* fp64 reference (bf16-rounded inputs), or NULL */
  tw_weight *wt[2]; /* prepared on each engine device */
} mat;

typedef struct bcase {
  const char *name;
  mat mats[MAX_MATS];
  int n;
  float *acts[2];
} bcase;

typedef struct strategy {
  const char *name;
  int ctx; /* 0: default kernel set, 1: accumulating set */
  const char *kernel;
  int host_k, naive, kernel_only;
} strategy;

static const strategy STRATEGIES[] = {
    {"naive", 0, "64x64x64", 1, 1, 0},
    {"seed-64x64x64", 0, "64x64x64", 1, 0, 0},
    {"seed-64x64x512", 0, "64x64x512", 1, 0, 0},
    {"seed-128x64x512", 0, "128x64x512", 1, 0, 0},
    {"devk-64x64x512a", 1, "64x64x512a", 0, 0, 0},
    {"devk-128x64x512a", 1, "128x64x512a", 0, 0, 0},
    {"whole-matrix", 0, "any", 0, 0, 0},
    {"planned", 0, NULL, 0, 0, 0},
    {"any-kernel", 0, "any", 0, 0, 1},
};
#define N_STRATEGIES (sizeof STRATEGIES / sizeof STRATEGIES[0])

typedef struct result {
  uint64_t inv, subs, to, from;
  double wall_s, flops, rel_err;
} result;

/* dev[0]: the default kernel set, dev[1]: the accumulating set, dev[2]:
 * the naive loop's own device; one stream each. */
typedef struct bench_env {
  tw_device *dev[3];
  tw_stream *ctx[3];
  int runs, json, skip_naive_encoder;
} bench_env;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int add_mat(bcase *bc, size_t m, size_t k, size_t n, const float *a, int with_ref,
                   uint64_t *seed) {
  mat *x = &bc->mats[bc->n++];
  memset(x, 0, sizeof *x);
  x->m = m;
  x->k = k;
  x->n = n;
  x->a = a;
  x->w = malloc(sizeof(float) * k * n);
  x->c = malloc(sizeof(float) * m * n);
  if (!x->w || !x->c) return TW_ENOMEM;
  tw_reference_fill_uniform(x->w, k * n, seed);
  if (with_ref) {
    x->ref = malloc(sizeof(double) * m * n);
    if (!x->ref) return TW_ENOMEM;
    return tw_reference_gemm_f64(m, k, n, a, k, x->w, n, NULL, x->ref, n, 1);
  }
  return TW_OK;
}

static void case_free(bcase *bc) {
  for (int i = 0; i < bc->n; i++) {
    for (int c = 0; c < 2; c++) tw_weight_destroy(bc->mats[i].wt[c]);
    free(bc->mats[i].w);
    free(bc->mats[i].c);
    free(bc->mats[i].ref);
  }
  free(bc->acts[0]);
  free(bc->acts[1]);
  memset(bc, 0, sizeof *bc);
}

static int case_init(bcase *bc, int encoder, bench_env *env) {
  memset(bc, 0, sizeof *bc);
  uint64_t seed = 12345;
  size_t rows = encoder ? 1500 : 3001;
  bc->name = encoder ? "encoder-base-6x(qkvo,fc1,fc2)" : "3001x512x512";
  bc->acts[0] = malloc(sizeof(float) * rows * 512);
  bc->acts[1] = encoder ? malloc(sizeof(float) * rows * 2048) : NULL;
  if (!bc->acts[0] || (encoder && !bc->acts[1])) return TW_ENOMEM;
  tw_reference_fill_uniform(bc->acts[0], rows * 512, &seed);
  int rc = TW_OK;
  if (!encoder) {
    rc = add_mat(bc, rows, 512, 512, bc->acts[0], 1, &seed);
  } else {
    tw_reference_fill_uniform(bc->acts[1], rows * 2048, &seed);
    for (int layer = 0; layer < 6 && !rc; layer++) {
      for (int q = 0; q < 4 && !rc; q++)
        rc = add_mat(bc, rows, 512, 512, bc->acts[0], layer == 0 && q == 0, &seed);
      if (!rc) rc = add_mat(bc, rows, 512, 2048, bc->acts[0], layer == 0, &seed);
      if (!rc) rc = add_mat(bc, rows, 2048, 512, bc->acts[1], layer == 0, &seed);
    }
  }
  for (int i = 0; i < bc->n && !rc; i++) {
    mat *x = &bc->mats[i];
    for (int c = 0; c < 2 && !rc; c++) {
      tw_weight_desc d = {.data = x->w, .dtype = TW_DTYPE_F32, .k = x->k, .n = x->n, .ld = x->n,
                          .name = "bench"};
      rc = tw_weight_prepare(env->dev[c], &d, &x->wt[c]);
    }
  }
  return rc;
}

/* The seed's strategy for one matmul. */
static int naive_gemm(bench_env *env, const mat *x, result *r) {
  tw_gemm_stats st;
  int rc = tw_study_tile_gemm(env->ctx[2], x->m, x->k, x->n, x->a, x->w, x->c, 1, &st);
  if (rc) return rc;
  r->inv += st.invocations;
  r->subs += st.submissions;
  r->to += st.bytes_to_device;
  r->from += st.bytes_from_device;
  return TW_OK;
}

/* One pass over the case; *r gets counts and the pass's time. */
static int run_once(bench_env *env, bcase *bc, const strategy *s, result *r) {
  memset(r, 0, sizeof *r);
  double t0 = tw_cli_now(), device_s = 0;
  for (int i = 0; i < bc->n; i++) {
    mat *x = &bc->mats[i];
    r->flops += 2.0 * (double)x->m * (double)x->k * (double)x->n;
    if (s->naive) {
      int rc = naive_gemm(env, x, r);
      if (rc) return rc;
      continue;
    }
    tw_gemm_options o = {.kernel = s->kernel, .host_k_loop = s->host_k};
    tw_gemm_stats st;
    int rc = tw_gemm_ex(env->ctx[s->ctx], x->m, x->k, x->a, TW_DTYPE_F32, x->k, x->wt[s->ctx],
                        x->c, x->n, &o, &st);
    if (rc) return rc;
    r->inv += st.invocations;
    r->subs += st.submissions;
    r->to += st.bytes_to_device;
    r->from += st.bytes_from_device;
    device_s += st.compute_s;
  }
  r->wall_s = s->kernel_only ? device_s : tw_cli_now() - t0;
  return TW_OK;
}

static int run_strategy(bench_env *env, bcase *bc, const strategy *s, result *out) {
  int runs = env->runs;
  double *walls = calloc((size_t)runs, sizeof *walls);
  if (!walls) return TW_ENOMEM;
  int rc = run_once(env, bc, s, out); /* warm-up: plans, buffers, first launches */
  for (int r = 0; r < runs && !rc; r++) {
    rc = run_once(env, bc, s, out);
    walls[r] = out->wall_s;
  }
  if (!rc) {
    qsort(walls, (size_t)runs, sizeof *walls, cmp_double);
    out->wall_s = runs % 2 ? walls[runs / 2] : 0.5 * (walls[runs / 2 - 1] + walls[runs / 2]);
    out->rel_err = 0;
    for (int i = 0; i < bc->n; i++)
      if (bc->mats[i].ref) {
        double e = tw_reference_rel_error(bc->mats[i].c, bc->mats[i].n, bc->mats[i].ref,
                                          bc->mats[i].n, bc->mats[i].m, bc->mats[i].n, NULL);
        if (e > out->rel_err) out->rel_err = e;
      }
  }
  free(walls);
  return rc;
}

static void print_result(const bench_env *env, const bcase *bc, const strategy *s,
                         const result *r, double naive_s) {
  double gflops = r->flops / r->wall_s * 1e-9;
  if (env->json) {
    printf("{\"case\":\"%s\",\"strategy\":\"%s\",\"invocations\":%llu,\"submissions\":%llu,"
           "\"bytes_to_device\":%llu,\"bytes_from_device\":%llu,\"wall_s\":%.6g,\"gflops\":%.4g,"
           "\"rel_err\":%.3g}\n",
           bc->name, s->name, (unsigned long long)r->inv, (unsigned long long)r->subs,
           (unsigned long long)r->to, (unsigned long long)r->from, r->wall_s, gflops, r->rel_err);
    return;
  }
  char speed[32] = "";
  if (naive_s > 0) snprintf(speed, sizeof speed, "%9.1fx", naive_s / r->wall_s);
  printf("  %-17s %8llu %8llu %10.1f %10.1f %10.2f %8.2f %9.2e %s%s\n", s->name,
         (unsigned long long)r->inv, (unsigned long long)r->subs, (double)r->to / 1048576.0,
         (double)r->from / 1048576.0, r->wall_s * 1e3, gflops, r->rel_err, speed,
         s->kernel_only ? "  (device time)" : "");
}

/* Strategies whose kernel the device lacks (e.g. "any" on `fixed`) are skipped. */
static int has_kernel(const tw_device *dev, const char *name) {
  tw_device_info info;
  if (!dev || tw_device_query(dev, &info)) return 0;
  for (int i = 0; name && i < info.n_kernels; i++)
    if (!strcmp(info.kernels[i].name, name)) return 1;
  return name == NULL;
}

static int bench_case(bench_env *env, int encoder) {
  bcase bc;
  int rc = case_init(&bc, encoder, env);
  if (rc) {
    fprintf(stderr, "bench --opencl: setting up: %s\n", tw_last_error());
    case_free(&bc);
    return rc;
  }
  if (!env->json)
    printf("%s (%d matmuls, median of %d runs)\n  %-17s %8s %8s %10s %10s %10s %8s %9s %10s\n",
           bc.name, bc.n, env->runs, "strategy", "invoc", "submits", "MB to dev", "MB back",
           "wall ms", "GFLOP/s", "rel_err", "vs naive");
  double naive_s = 0;
  for (size_t i = 0; i < N_STRATEGIES && !rc; i++) {
    const strategy *s = &STRATEGIES[i];
    if (s->naive && (!env->ctx[2] || (encoder && env->skip_naive_encoder))) continue;
    if (!s->naive && !has_kernel(env->dev[s->ctx], s->kernel)) continue;
    result r;
    rc = run_strategy(env, &bc, s, &r);
    if (rc) {
      fprintf(stderr, "bench --opencl: %s / %s: %s\n", bc.name, s->name, tw_last_error());
      break;
    }
    if (s->naive) naive_s = r.wall_s;
    print_result(env, &bc, s, &r, naive_s);
  }
  case_free(&bc);
  return rc;
}

static int open_one(bench_env *env, int i, const char *device, const char *kernels, int threads) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = device;
  o.threads = threads;
  o.kernels = kernels;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  int rc = tw_device_create(&o, &env->dev[i]);
  if (!rc) rc = tw_stream_create(env->dev[i], &so, &env->ctx[i]);
  return rc;
}

static int setup(bench_env *env, const char *device, int threads) {
  int rc = open_one(env, 0, device, NULL, threads);
  if (!rc) rc = open_one(env, 1, device, "64x64x64a,64x64x512a,128x64x512a", threads);
  if (rc) return rc;
  /* the naive loop owns a device of its own, as the seed's script did; it
   * needs the seed's 64x64x64 kernel */
  if (has_kernel(env->dev[0], "64x64x64") && open_one(env, 2, device, NULL, threads)) {
    tw_device_destroy(env->dev[2]);
    env->dev[2] = NULL;
  }
  return TW_OK;
}

int tw_bench_opencl(int argc, char **argv) {
  static const char *usage =
      "usage: tilewhisper bench --opencl [--device D] [--runs N] [--threads N] [--quick]\n"
      "                                [--case seed|encoder] [--json]\n"
      "  --quick  skip the naive strategy on the encoder set (about 110,000 invocations)\n";
  bench_env env;
  memset(&env, 0, sizeof env);
  env.runs = 3;
  const char *device = "opencl", *only = NULL;
  int threads = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) env.json = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("%s", usage);
      return 0;
    } else if (!strcmp(argv[i], "--quick")) env.skip_naive_encoder = 1;
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!strcmp(argv[i], "--case") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) env.runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else {
      fprintf(stderr, "bench --opencl: unknown option '%s'\n%s", argv[i], usage);
      return 2;
    }
  }
  if (env.runs < 1 || env.runs > 100 || threads < 1 || threads > 1024 ||
      (only && strcmp(only, "seed") && strcmp(only, "encoder"))) {
    fprintf(stderr, "bench --opencl: --runs wants 1..100, --threads 1..1024, "
                    "--case seed or encoder\n%s", usage);
    return 2;
  }
  int rc = setup(&env, device, threads);
  if (rc) {
    fprintf(stderr, "bench --opencl: %s: %s\n", device, tw_last_error());
  } else {
    tw_device_info d;
    if (!env.json && !tw_device_query(env.dev[0], &d))
      printf("device %s: %.2f us/invocation, %.1f us/submission, %.2f / %.2f GB/s, "
             "%.1f GFLOP/s (the device's cost figures)\n",
             d.name, d.invoke_s * 1e6, d.submit_s * 1e6, d.h2d_bytes_per_s * 1e-9,
             d.d2h_bytes_per_s * 1e-9, d.flops_per_s * 1e-9);
    if (!only || !strcmp(only, "seed")) rc = bench_case(&env, 0);
    if (!rc && (!only || !strcmp(only, "encoder"))) rc = bench_case(&env, 1);
  }
  for (int i = 0; i < 3; i++) {
    tw_stream_destroy(env.ctx[i]);
    tw_device_destroy(env.dev[i]);
  }
  return rc ? 1 : 0;
}

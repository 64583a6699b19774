/* tilewhisper bench --opencl: the seed's strategies on a queue device (default
 * "opencl"), with measured wall times.
 *
 * Cases: the seed's (3001,512)@(512,512) projection, and a Whisper-base
 * encoder matmul set (6 layers x Q, K, V, O 1500x512x512, fc1 1500x512x2048,
 * fc2 1500x2048x512; weights resident, prepared once).  Strategies:
 *
 *   naive          the seed's loop, on the device interface directly: per
 *                  64x64x64 invocation, allocate three device buffers,
 *                  convert both tiles on the host, write, run, read, wait,
 *                  free, and add the partial tile into C on the host
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
#include "core/timing.h"
#include "device/device.h"
#include "gemm/context.h"
#include "gemm/reference.h"
#include "tilewhisper/tilewhisper.h"

#define MAX_MATS 36
#define TILE 64

typedef struct mat {
  size_t m, k, n;
  const float *a; /* shared activations */
  float *w, *c;
  double *ref; /* fp64 reference (bf16-rounded inputs), or NULL */
  tw_weight *wt[2]; /* prepared on each engine context */
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

typedef struct bench_env {
  tw_context *ctx[2];
  tw_device *naive_dev;
  int naive_kernel;
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
      rc = tw_weight_prepare(env->ctx[c], &d, &x->wt[c]);
    }
  }
  return rc;
}

/* The seed's strategy for one matmul, on the device interface. */
static int naive_gemm(bench_env *env, const mat *x, result *r) {
  tw_device *dev = env->naive_dev;
  size_t mt = (x->m + TILE - 1) / TILE, nt = (x->n + TILE - 1) / TILE,
         kt = (x->k + TILE - 1) / TILE;
  tw_bf16 at[TILE * TILE], bt[TILE * TILE];
  float ct[TILE * TILE];
  memset(x->c, 0, sizeof(float) * x->m * x->n);
  for (size_t i = 0; i < mt; i++)
    for (size_t j = 0; j < nt; j++)
      for (size_t p = 0; p < kt; p++) {
        for (size_t r0 = 0; r0 < TILE; r0++)
          for (size_t c0 = 0; c0 < TILE; c0++) {
            size_t ar = i * TILE + r0, ac = p * TILE + c0, br = p * TILE + r0, bcol = j * TILE + c0;
            at[r0 * TILE + c0] =
                ar < x->m && ac < x->k ? tw_fp32_to_bf16(x->a[ar * x->k + ac]) : 0;
            bt[r0 * TILE + c0] =
                br < x->k && bcol < x->n ? tw_fp32_to_bf16(x->w[br * x->n + bcol]) : 0;
          }
        tw_dbuf *da = NULL, *db = NULL, *dc = NULL;
        int rc = dev->iface->buffer_alloc(dev, sizeof at, &da);
        if (!rc) rc = dev->iface->buffer_alloc(dev, sizeof bt, &db);
        if (!rc) rc = dev->iface->buffer_alloc(dev, sizeof ct, &dc);
        tw_cmd cmds[4] = {
            {.op = TW_CMD_WRITE, .buf = da, .bytes = sizeof at, .src = at},
            {.op = TW_CMD_WRITE, .buf = db, .bytes = sizeof bt, .src = bt},
            {.op = TW_CMD_KERNEL, .kernel = env->naive_kernel, .a = da, .b = db, .c = dc,
             .lda = TILE, .ldb = TILE, .ldc = TILE, .m = TILE, .k = TILE, .n = TILE},
            {.op = TW_CMD_READ, .buf = dc, .bytes = sizeof ct, .dst = ct}};
        uint64_t fence;
        if (!rc) rc = dev->iface->submit(dev, cmds, 4, &fence);
        if (!rc) rc = dev->iface->wait(dev, fence, NULL);
        dev->iface->buffer_free(dev, da);
        dev->iface->buffer_free(dev, db);
        dev->iface->buffer_free(dev, dc);
        if (rc) return rc;
        for (size_t r0 = 0; r0 < TILE && i * TILE + r0 < x->m; r0++)
          for (size_t c0 = 0; c0 < TILE && j * TILE + c0 < x->n; c0++)
            x->c[(i * TILE + r0) * x->n + j * TILE + c0] += ct[r0 * TILE + c0];
        r->inv++;
        r->subs++;
        r->to += sizeof at + sizeof bt;
        r->from += sizeof ct;
      }
  return TW_OK;
}

/* One pass over the case; *r gets counts and the pass's time. */
static int run_once(bench_env *env, bcase *bc, const strategy *s, result *r) {
  memset(r, 0, sizeof *r);
  double t0 = tw_now(), device_s = 0;
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
  r->wall_s = s->kernel_only ? device_s : tw_now() - t0;
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
static int has_kernel(tw_context *ctx, const char *name) {
  const tw_device *dev = tw_context_device(ctx);
  for (int i = 0; name && i < dev->n_kernels; i++)
    if (!strcmp(dev->kernels[i].name, name)) return 1;
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
    if (s->naive && (!env->naive_dev || (encoder && env->skip_naive_encoder))) continue;
    if (!s->naive && !has_kernel(env->ctx[s->ctx], s->kernel)) continue;
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

static int setup(bench_env *env, const char *device, int threads) {
  tw_context_options o;
  tw_context_options_init(&o);
  o.device = device;
  o.threads = threads;
  int rc = tw_context_create(&o, &env->ctx[0]);
  if (!rc) {
    o.kernels = "64x64x64a,64x64x512a,128x64x512a";
    rc = tw_context_create(&o, &env->ctx[1]);
  }
  if (rc) return rc;
  /* the naive loop owns a device of its own, as the seed's script did */
  tw_device_config cfg = {0};
  rc = tw_device_create(device, &cfg, &env->naive_dev);
  if (rc) return rc;
  env->naive_kernel = -1;
  for (int i = 0; i < env->naive_dev->n_kernels; i++)
    if (!strcmp(env->naive_dev->kernels[i].name, "64x64x64")) env->naive_kernel = i;
  if (env->naive_kernel < 0) {
    tw_device_destroy(env->naive_dev);
    env->naive_dev = NULL;
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
    if (!env.json) {
      const tw_device *dev = tw_context_device(env.ctx[0]);
      printf("device %s: %.2f us/invocation, %.1f us/submission, %.2f / %.2f GB/s, "
             "%.1f GFLOP/s (the device's cost figures)\n",
             dev->name, dev->costs.invoke_s * 1e6, dev->costs.submit_s * 1e6,
             dev->costs.h2d_bytes_per_s * 1e-9, dev->costs.d2h_bytes_per_s * 1e-9,
             dev->costs.flops_per_s * 1e-9);
    }
    if (!only || !strcmp(only, "seed")) rc = bench_case(&env, 0);
    if (!rc && (!only || !strcmp(only, "encoder"))) rc = bench_case(&env, 1);
  }
  tw_device_destroy(env.naive_dev);
  tw_context_destroy(env.ctx[0]);
  tw_context_destroy(env.ctx[1]);
  return rc ? 1 : 0;
}

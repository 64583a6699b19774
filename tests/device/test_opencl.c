/* The `opencl` device: accuracy against the fp64 oracle through the public
 * engine API (every kernel variant), agreement with the `ref` device, the
 * seed's invocation counts per forced kernel, calibration figures, the
 * program cache, selection and build errors.  Skips (passes) when the build
 * has no OpenCL or the machine has no OpenCL platform. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm/context.h"
#include "gemm_case.h"
#include "tw_test.h"
#include "tw_test_stack.h"
#ifdef TW_HAVE_OPENCL
#include "device/opencl/ocl.h"
#include "device/registry.h"
#endif

#define BF16_BOUND 1e-5
#define FP32_BOUND 5e-3

#ifdef TW_HAVE_OPENCL

/* A device and one stream on it; drop() destroys both. */
static tw_stream *make(const char *device, const char *kernels, const char *options) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = device;
  o.threads = 2;
  o.kernels = kernels;
  o.options = options;
  tw_device *dev = NULL;
  int rc = tw_device_create(&o, &dev);
  CHECK_MSG(rc == TW_OK, "create %s (%s, %s): %s", device, kernels ? kernels : "default",
            options ? options : "", tw_last_error());
  if (rc) return NULL;
  tw_stream *s = tw_test_stream_on(dev);
  CHECK_MSG(s != NULL, "stream on %s: %s", device, tw_last_error());
  return s;
}

static void drop(tw_stream *s) { tw_test_stream_drop(s); }

static void check_case(tw_stream *s, const char *what, size_t m, size_t k, size_t n,
                       unsigned long seed, const tw_gemm_options *opts) {
  gemm_case_result r = gemm_case_run(s, m, k, n, (seed & 1) != 0, seed, opts);
  CHECK_MSG(r.status == TW_OK, "%s %zux%zux%zu: %s", what, m, k, n, tw_stream_last_error(s));
  CHECK_MSG(r.rel_err_bf16 <= BF16_BOUND, "%s %zux%zux%zu: rel err vs bf16 inputs %.3g", what, m,
            k, n, r.rel_err_bf16);
  CHECK_MSG(r.rel_err_fp32 <= FP32_BOUND, "%s %zux%zux%zu: rel err vs fp32 inputs %.3g", what, m,
            k, n, r.rel_err_fp32);
  printf("  %-10s %5zux%5zux%6zu  rel_err(bf16 in) %.2e  (fp32 in) %.2e  inv %llu  kernel %s\n",
         what, m, k, n, r.rel_err_bf16, r.rel_err_fp32, (unsigned long long)r.stats.invocations,
         opts && opts->kernel ? opts->kernel : "(planner)");
}

/* The seed's suites: 64x64, random sizes, primes, 1xKx1, K = 1, Whisper. */
static void accuracy_suites(tw_stream *s, const char *what, int whisper,
                            const tw_gemm_options *opts) {
  check_case(s, what, 64, 64, 64, 1, opts);
  tw_rng rng = {11};
  for (int i = 0; i < 8; i++)
    check_case(s, what, (size_t)tw_rng_range(&rng, 1, 300), (size_t)tw_rng_range(&rng, 1, 300),
               (size_t)tw_rng_range(&rng, 1, 300), 100 + (unsigned long)i, opts);
  static const size_t primes[][3] = {{97, 89, 101}, {127, 131, 61}, {251, 7, 193}, {3, 257, 5}};
  for (size_t i = 0; i < 4; i++)
    check_case(s, what, primes[i][0], primes[i][1], primes[i][2], 200 + i, opts);
  check_case(s, what, 1, 300, 1, 301, opts);
  check_case(s, what, 1, 1, 1, 302, opts);
  check_case(s, what, 77, 1, 130, 303, opts);
  /* Whisper sizes: 3001x512x512 runs in seed_counts() (one oracle, every
   * strategy); 1500x512x2048 and 1500x2048x512 run here on the "any" kernel
   * and in test_gemm_accuracy with the planner's choice. */
  if (whisper) {
    check_case(s, what, 1, 512, 51865, 404, opts);
    tw_gemm_options any = {.kernel = "any"};
    check_case(s, what, 1500, 512, 2048, 402, &any);
  }
}

/* One problem, its oracle computed once, run with many plans. */
typedef struct problem {
  size_t m, k, n;
  float *a, *w, *c;
  double *ref_r, *ref_u;
} problem;

static int problem_init(problem *p, size_t m, size_t k, size_t n, unsigned long seed) {
  memset(p, 0, sizeof *p);
  p->m = m;
  p->k = k;
  p->n = n;
  p->a = malloc(sizeof(float) * m * k);
  p->w = malloc(sizeof(float) * k * n);
  p->c = malloc(sizeof(float) * m * n);
  p->ref_r = malloc(sizeof(double) * m * n);
  p->ref_u = malloc(sizeof(double) * m * n);
  if (!p->a || !p->w || !p->c || !p->ref_r || !p->ref_u) return TW_ENOMEM;
  tw_rng rng = {seed};
  tw_fill_uniform(&rng, p->a, m * k, -1.0f, 1.0f);
  tw_fill_uniform(&rng, p->w, k * n, -1.0f, 1.0f);
  tw_reference_gemm_f64(m, k, n, p->a, k, p->w, n, NULL, p->ref_r, n, 1);
  tw_reference_gemm_f64(m, k, n, p->a, k, p->w, n, NULL, p->ref_u, n, 0);
  return TW_OK;
}

static void problem_free(problem *p) {
  free(p->a);
  free(p->w);
  free(p->c);
  free(p->ref_r);
  free(p->ref_u);
}

/* Runs p on stream s into p->c; returns the status and fills *st. */
static int problem_run(tw_stream *s, problem *p, const tw_gemm_options *opts,
                       tw_gemm_stats *st) {
  tw_weight_desc d = {.data = p->w, .dtype = TW_DTYPE_F32, .k = p->k, .n = p->n, .ld = p->n,
                      .name = "problem"};
  tw_weight *wt = NULL;
  int rc = tw_weight_prepare(tw_stream_device(s), &d, &wt);
  if (!rc) rc = tw_gemm_ex(s, p->m, p->k, p->a, TW_DTYPE_F32, p->k, wt, p->c, p->n, opts, st);
  tw_weight_destroy(wt);
  return rc;
}

/* 3001x512x512 with each of the seed's strategies: invocation counts from
 * the tiling formula ceil(M/mk) * ceil(N/nk) * ceil(K/kk), and accuracy. */
static void seed_counts(tw_stream *s, tw_stream *s_acc, problem *p) {
  static const struct {
    const char *kernel;
    int host_k, accum_ctx;
    uint64_t inv;
  } cases[] = {
      {"64x64x64", 1, 0, 47 * 8 * 8},      {"64x64x512", 1, 0, 47 * 1 * 8},
      {"128x64x512", 1, 0, 24 * 1 * 8},    {"any", 0, 0, 1},
      {"64x64x64a", 0, 1, 47 * 8 * 8},     {"64x64x512a", 0, 1, 47 * 1 * 8},
      {"128x64x512a", 0, 1, 24 * 1 * 8},   {"64x64x64a", 1, 1, 47 * 8 * 8},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tw_stream *c = cases[i].accum_ctx ? s_acc : s;
    tw_gemm_options o = {.kernel = cases[i].kernel, .host_k_loop = cases[i].host_k};
    tw_gemm_stats st;
    memset(&st, 0, sizeof st);
    int rc = problem_run(c, p, &o, &st);
    CHECK_MSG(rc == TW_OK, "%s: %s", cases[i].kernel, tw_stream_last_error(c));
    CHECK_MSG(st.invocations == cases[i].inv, "%s host_k=%d: %llu invocations, expected %llu",
              cases[i].kernel, cases[i].host_k, (unsigned long long)st.invocations,
              (unsigned long long)cases[i].inv);
    CHECK(tw_stream_last_plan(c)->host_k == (cases[i].host_k || !cases[i].accum_ctx) ||
          cases[i].inv == 1);
    double eb = tw_reference_rel_error(p->c, p->n, p->ref_r, p->n, p->m, p->n, NULL);
    double eu = tw_reference_rel_error(p->c, p->n, p->ref_u, p->n, p->m, p->n, NULL);
    CHECK_MSG(eb <= BF16_BOUND && eu <= FP32_BOUND, "%s: rel err %.3g / %.3g", cases[i].kernel,
              eb, eu);
    printf("  3001x512x512 %-12s host_k=%d: %5llu invocations, %llu submissions, rel err %.2e, "
           "%.1f ms\n",
           cases[i].kernel, cases[i].host_k, (unsigned long long)st.invocations,
           (unsigned long long)st.submissions, eb, st.total_s * 1e3);
  }
}

/* Same inputs on `ref` and `opencl`: results agree within the bounds. */
static void against_ref(tw_stream *ocl) {
  tw_stream *ref = make("ref", NULL, NULL);
  if (!ref) return;
  static const size_t sizes[][3] = {{97, 89, 101}, {130, 300, 257}, {1, 512, 700}, {64, 64, 64}};
  for (size_t i = 0; i < 4; i++) {
    problem p;
    CHECK(problem_init(&p, sizes[i][0], sizes[i][1], sizes[i][2], 500 + i) == TW_OK);
    size_t mn = p.m * p.n;
    double *c_ref = malloc(sizeof(double) * mn);
    CHECK(c_ref != NULL && problem_run(ref, &p, NULL, NULL) == TW_OK);
    for (size_t q = 0; c_ref && q < mn; q++) c_ref[q] = p.c[q];
    CHECK(problem_run(ocl, &p, NULL, NULL) == TW_OK);
    double e = c_ref ? tw_reference_rel_error(p.c, p.n, c_ref, p.n, p.m, p.n, NULL) : 1.0;
    CHECK_MSG(e <= BF16_BOUND, "%zux%zux%zu: opencl vs ref rel diff %.3g", p.m, p.k, p.n, e);
    printf("  vs ref %4zux%4zux%4zu: rel diff %.2e\n", p.m, p.k, p.n, e);
    free(c_ref);
    problem_free(&p);
  }
  drop(ref);
}

static int finite_pos(double x) { return x > 0 && x < 1e300; }

static void check_costs(const tw_device *dev, const char *what) {
  const tw_device_costs *c = &dev->costs;
  CHECK_MSG(finite_pos(c->invoke_s) && finite_pos(c->submit_s) && finite_pos(c->h2d_bytes_per_s) &&
                finite_pos(c->d2h_bytes_per_s) && finite_pos(c->flops_per_s),
            "%s: costs %g %g %g %g %g", what, c->invoke_s, c->submit_s, c->h2d_bytes_per_s,
            c->d2h_bytes_per_s, c->flops_per_s);
  CHECK(c->host_memory == 0 && c->mem_bytes > 0);
  for (int i = 0; i < dev->n_kernels; i++)
    CHECK_MSG(finite_pos(dev->kernels[i].flops_per_s), "%s: kernel %s flops_per_s %g", what,
              dev->kernels[i].name, dev->kernels[i].flops_per_s);
  printf("  %s: %.2f us/invocation, %.1f us/submission, %.2f / %.2f GB/s, any %.1f GFLOP/s\n",
         what, c->invoke_s * 1e6, c->submit_s * 1e6, c->h2d_bytes_per_s * 1e-9,
         c->d2h_bytes_per_s * 1e-9, c->flops_per_s * 1e-9);
}

static int create_dev(const char *name, const char *kernels, const char *options,
                      tw_device **dev) {
  tw_device_config cfg = {.kernels = kernels, .options = options};
  return tw_registry_create(name, &cfg, dev);
}

/* Fresh calibration, then the disk cache (binaries and figures) on reuse. */
static void calibration_and_cache(const char *dir) {
  char opts[300];
  snprintf(opts, sizeof opts, "cache_dir=%s", dir);
  tw_device *dev = NULL;
  int rc = create_dev("opencl", NULL, opts, &dev);
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  if (dev) check_costs(dev, "fresh calibration");
  tw_device_destroy(dev);
  dev = NULL;
  rc = create_dev("opencl", NULL, opts, &dev);
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  if (dev) {
    check_costs(dev, "cached calibration");
    const tw_ocl *o = dev->impl;
    for (int i = 0; i < dev->n_kernels; i++)
      CHECK_MSG(o->kernels[i].from_cache, "kernel %s was not loaded from the cache",
                dev->kernels[i].name);
  }
  tw_device_destroy(dev);
  int bins = 0, calibs = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    bins += !strncmp(e->d_name, "ocl-", 4);
    calibs += !strncmp(e->d_name, "calib-", 6);
  }
  if (d) closedir(d);
  CHECK_MSG(bins == 4 && calibs == 1, "cache holds %d binaries, %d calibrations", bins, calibs);
  /* calibrate=1 measures again; cache=0 builds from source and calibrates */
  rc = create_dev("opencl", NULL, "calibrate=1", &dev);
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  if (dev) check_costs(dev, "recalibrated");
  tw_device_destroy(dev);
  dev = NULL;
  rc = create_dev("opencl", "64x64x64", "cache=0", &dev);
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  if (dev) {
    check_costs(dev, "uncached");
    CHECK(!((const tw_ocl *)dev->impl)->kernels[0].from_cache);
  }
  tw_device_destroy(dev);
}

static void errors(void) {
  tw_device *dev = NULL;
  CHECK(create_dev("opencl:9.0", NULL, NULL, &dev) == TW_ENOTFOUND && !dev);
  CHECK_MSG(strstr(tw_last_error(), "platform 9"), "%s", tw_last_error());
  CHECK(create_dev("opencl:0.7", NULL, NULL, &dev) == TW_ENOTFOUND && !dev);
  CHECK_MSG(strstr(tw_last_error(), "device 0.7"), "%s", tw_last_error());
  CHECK(create_dev("opencl:zero", NULL, NULL, &dev) == TW_EINVAL && !dev);
  CHECK_MSG(strstr(tw_last_error(), "zero"), "%s", tw_last_error());
  setenv("TW_OPENCL_DEVICE", "1-2", 1);
  CHECK(create_dev("opencl", NULL, NULL, &dev) == TW_EINVAL && !dev);
  CHECK_MSG(strstr(tw_last_error(), "TW_OPENCL_DEVICE"), "%s", tw_last_error());
  setenv("TW_OPENCL_DEVICE", "0.0", 1);
  CHECK(create_dev("opencl", NULL, NULL, &dev) == TW_OK && dev);
  CHECK(dev && !strcmp(dev->name, "opencl:0.0"));
  tw_device_destroy(dev);
  dev = NULL;
  unsetenv("TW_OPENCL_DEVICE");
  CHECK(create_dev("opencl", NULL, "local=2", &dev) == TW_EINVAL && !dev);
  CHECK(create_dev("opencl", NULL, "tiling=tpu", &dev) == TW_EINVAL && !dev);
  CHECK_MSG(strstr(tw_last_error(), "tiling=tpu"), "%s", tw_last_error());
  CHECK(create_dev("opencl", "64x64", NULL, &dev) == TW_EINVAL && !dev);
  /* a failing build names the call, its code and the compiler's message */
  CHECK(create_dev("opencl", NULL, "cache=0,build_options=-DTW_FORCE_BUILD_ERROR", &dev) ==
            TW_EDEVICE && !dev);
  CHECK_MSG(strstr(tw_last_error(), "clBuildProgram returned -11 (CL_BUILD_PROGRAM_FAILURE)") &&
                strstr(tw_last_error(), "forced build failure"),
            "%s", tw_last_error());
  printf("  build error: %.160s...\n", tw_last_error());
  /* commands are checked before anything is enqueued */
  CHECK(create_dev("opencl", NULL, NULL, &dev) == TW_OK && dev);
  if (!dev) return;
  tw_dbuf *a = NULL, *c = NULL;
  CHECK(dev->iface->buffer_alloc(dev, 64 * 64 * 2, &a) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, 64 * 64 * 4, &c) == TW_OK);
  tw_cmd bad = {.op = TW_CMD_KERNEL, .kernel = 0, .a = a, .b = a, .c = c, .lda = 64, .ldb = 64,
                .ldc = 64, .m = 64, .k = 64, .n = 32};
  uint64_t fence = 0;
  CHECK(dev->iface->submit(dev, &bad, 1, &fence) == TW_ESHAPE);
  bad.n = 64;
  bad.c_off = 4;
  CHECK(dev->iface->submit(dev, &bad, 1, &fence) == TW_EBOUNDS);
  char host[16];
  tw_cmd rd = {.op = TW_CMD_READ, .buf = a, .offset = 64 * 64 * 2 - 8, .bytes = 16, .dst = host};
  CHECK(dev->iface->submit(dev, &rd, 1, &fence) == TW_EBOUNDS);
  CHECK(strstr(dev->err.msg, "outside") != NULL);
  dev->iface->buffer_free(dev, a);
  dev->iface->buffer_free(dev, c);
  tw_device_destroy(dev);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_cache(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
#endif

int main(void) {
#ifndef TW_HAVE_OPENCL
  printf("opencl not in this build: not tested\n");
  return tw_test_finish("test_opencl");
#else
  /* a private cache directory for the cache test, which needs it cold; the
   * other devices use the default cache */
  char dir[] = "/tmp/tw-opencl-test-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK_MSG(0, "mkdtemp failed");
    return tw_test_finish("test_opencl");
  }
  tw_device *probe = NULL;
  int rc = create_dev("opencl", NULL, NULL, &probe);
  if (rc == TW_EDEVICE && strstr(tw_last_error(), "clGetPlatformIDs")) {
    printf("no OpenCL platform here (%s): not tested\n", tw_last_error());
    remove_cache(dir);
    return tw_test_finish("test_opencl");
  }
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  tw_device_destroy(probe);

  printf("calibration and cache\n");
  calibration_and_cache(dir);
  printf("errors\n");
  errors();

  tw_stream *s = make("opencl", NULL, NULL);
  tw_stream *acc = make("opencl", "64x64x64a,64x64x512a,128x64x512a", NULL);
  tw_stream *loc = make("opencl", NULL, "local=1");
  tw_stream *gpu = make("opencl", NULL, "tiling=gpu");
  if (s && acc && loc && gpu) {
    printf("accuracy: planner's choice (default kernel set)\n");
    accuracy_suites(s, "planned", 1, NULL);
    printf("accuracy: forced kernels\n");
    tw_gemm_options o = {.kernel = "64x64x64", .host_k_loop = 1};
    accuracy_suites(s, "64x64x64", 0, &o);
    o = (tw_gemm_options){.kernel = "128x64x512"};
    accuracy_suites(s, "128x64x512", 0, &o);
    o = (tw_gemm_options){.kernel = "any"};
    accuracy_suites(s, "any", 0, &o);
    o = (tw_gemm_options){.kernel = "64x64x512a"};
    accuracy_suites(acc, "64x64x512a", 0, &o);
    accuracy_suites(loc, "local=1", 0, NULL);
    o = (tw_gemm_options){.kernel = "any"};
    check_case(loc, "local any", 1500, 2048, 512, 403, &o);
    accuracy_suites(gpu, "tiling=gpu", 0, NULL); /* the GPU variant, run here on whatever device */
    o = (tw_gemm_options){.kernel = "128x64x512"};
    check_case(gpu, "gpu 128x", 300, 200, 700, 406, &o);
    printf("the seed's strategies on 3001x512x512\n");
    problem p;
    CHECK(problem_init(&p, 3001, 512, 512, 42) == TW_OK);
    seed_counts(s, acc, &p);
    problem_free(&p);
    printf("against the ref device\n");
    against_ref(s);
  }
  drop(s);
  drop(acc);
  drop(loc);
  drop(gpu);
  remove_cache(dir);
  return tw_test_finish("test_opencl");
#endif
}

/* The cpu device's calibrated kernel choice: with fake figures injected
 * through the measuring hook, the choice is the fastest candidate of each
 * shape class (checked against a brute-force search over the same table),
 * the figures round-trip through the cache file, a corrupt or truncated
 * file is measured again, TW_CPU_RECALIBRATE and calibrate=1 measure again,
 * TW_CPU_KERNEL and calibrate=0 win over calibration, and the compute type
 * each mode stands for is the one the products use (against an fp64
 * reference with its own bf16 rounding). */
#define _GNU_SOURCE /* mkdtemp */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/cpu/cpu.h"
#include "device/device.h"
#include "tw_test.h"

/* Fake GFLOP/s: scenario 0 is AMD-like (the dot product twice the FMAs),
 * 1 Intel-like (the dot product half), 2 the dot product ahead on LARGE
 * only, fp32 far ahead (which default compute, bf16 inputs, never takes);
 * 3 is scenario 0 with an AMX set slower than avx512bf16's dot product.
 * Where the CPU has the AMX set, its dot product (large and skinny; its
 * small-M kernel is avx512bf16's) is AMX_FACTOR times avx512bf16's. */
static double amx_factor(int scenario) { return scenario == 3 ? 0.5 : 4.0; }

static double fake(const char *isa, int mode, int cls, void *user) {
  int scenario = *(const int *)user;
  double family = !strcmp(isa, "generic") ? 0.05 : !strcmp(isa, "avx2") ? 0.5 : 1.0;
  if (!strcmp(isa, "amx") && cls != TW_CPU_CLASS_GEMV) family = amx_factor(scenario);
  if (scenario == 3) scenario = 0;
  static const double table[3][TW_CPU_N_MODES][TW_CPU_N_CLASSES] = {
      /* large skinny gemv, per mode DP A16 A32 F32W */
      {{200, 150, 0}, {100, 90, 20}, {110, 95, 21}, {105, 80, 10}},
      {{80, 70, 0}, {140, 130, 20}, {150, 125, 21}, {149, 100, 10}},
      {{160, 70, 0}, {140, 130, 20}, {300, 300, 30}, {400, 100, 40}},
  };
  return family * table[scenario][mode][cls];
}

static int scenario;

static int has_set(const char *isa) {
  tw_cpu_kernels ks;
  return tw_cpu_kernels_select(isa, &ks) == 0;
}

/* The dot-product set the brute force expects: of avx512bf16 and amx (where
 * the CPU has them), the faster on LARGE; NULL when neither. */
static const char *expected_dp_set(void) {
  const char *set = NULL;
  double best = -1;
  static const char *const dps[2] = {"avx512bf16", "amx"};
  for (int i = 0; i < 2; i++) {
    if (!has_set(dps[i])) continue;
    double v = fake(dps[i], TW_CPU_MODE_DP, TW_CPU_CLASS_LARGE, &scenario);
    if (v > best) best = v, set = dps[i];
  }
  return set;
}

/* Brute force over the table: the fastest bf16-input mode (DP, A16) on cls
 * for the newest family, DP being the expected dot-product set's (none for
 * GEMV in the table). */
static int expected_mode(int cls) {
  const unsigned modes = 1u << TW_CPU_MODE_DP | 1u << TW_CPU_MODE_A16;
  const char *dp_set = expected_dp_set();
  int dp = dp_set && cls != TW_CPU_CLASS_GEMV, best = -1;
  double best_v = -1;
  for (int m = 0; m < TW_CPU_N_MODES; m++) {
    if (!(modes >> m & 1u) || (m == TW_CPU_MODE_DP && !dp)) continue;
    double v = fake(m == TW_CPU_MODE_DP ? dp_set : "avx512", m, cls, &scenario);
    if (v > best_v) best_v = v, best = m;
  }
  return best;
}

static tw_device *make(const char *opts) {
  tw_device *dev = NULL;
  tw_device_config cfg = {.options = opts};
  if (tw_registry_create("cpu", &cfg, &dev) != TW_OK) return NULL;
  return dev;
}

/* The device's choice is the brute-force one for the current scenario. */
static void check_choice(const tw_device *dev, int source) {
  const tw_cpu_choice *c = tw_cpu_device_choice(dev);
  CHECK_MSG(c->source == source, "source %d, want %d", c->source, source);
  int dp = 0;
  for (int cls = 0; cls < TW_CPU_N_CLASSES; cls++) {
    int want = expected_mode(cls);
    CHECK_MSG(c->mode[cls] == want, "scenario %d class %d: mode %d, want %d", scenario, cls,
              c->mode[cls], want);
    dp |= want == TW_CPU_MODE_DP;
  }
  const char *want_isa = dp ? expected_dp_set() : has_set("avx512") ? "avx512" : "avx2";
  if (has_set("avx2")) CHECK_MSG(!strcmp(tw_cpu_device_isa(dev), want_isa), "isa %s, want %s",
                                 tw_cpu_device_isa(dev), want_isa);
  /* the figures are the hook's */
  for (int i = 0; i < c->n_cands; i++) {
    double v = fake(c->cands[i].ks->isa, c->cands[i].mode, 0, &scenario);
    CHECK(fabs(c->cands[i].gflops[0] - v) <= 1e-5 * v);
  }
}

static void cache_file(const char *dir, char *path, size_t cap) {
  path[0] = '\0';
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, "cpu-calib-", 10)) snprintf(path, cap, "%s/%s", dir, e->d_name);
  if (d) closedir(d);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) fputs(text, f), fclose(f);
}

static void test_cache(const char *opts, const char *dir) {
  scenario = 1;
  tw_device *dev = make(opts);
  CHECK(dev != NULL);
  if (dev) check_choice(dev, TW_CPU_MEASURED);
  tw_device_destroy(dev);
  /* other figures now, but the cache answers */
  scenario = 0;
  dev = make(opts);
  scenario = 1;
  if (dev) check_choice(dev, TW_CPU_CACHED);
  tw_device_destroy(dev);
  /* TW_CPU_RECALIBRATE measures again */
  scenario = 0;
  setenv("TW_CPU_RECALIBRATE", "1", 1);
  dev = make(opts);
  unsetenv("TW_CPU_RECALIBRATE");
  if (dev) check_choice(dev, TW_CPU_MEASURED);
  tw_device_destroy(dev);
  /* a corrupt file is ignored and replaced; then it answers again */
  char path[600], text[4096];
  cache_file(dir, path, sizeof path);
  CHECK(path[0] != '\0');
  FILE *f = fopen(path, "r");
  size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f) fclose(f);
  text[len] = '\0';
  CHECK(strstr(text, "\nend\n") != NULL);
  write_file(path, "TWCPUCAL1 garbage\nnot numbers\n");
  scenario = 2;
  dev = make(opts);
  if (dev) check_choice(dev, TW_CPU_MEASURED);
  tw_device_destroy(dev);
  dev = make(opts);
  if (dev) check_choice(dev, TW_CPU_CACHED);
  tw_device_destroy(dev);
  /* truncated (the end marker lost) and negative figures: measured again */
  scenario = 1;
  char *end = strstr(text, "end\n");
  if (end) *end = '\0';
  write_file(path, text);
  dev = make(opts);
  if (dev) check_choice(dev, TW_CPU_MEASURED);
  tw_device_destroy(dev);
  /* calibrate=1 measures again too */
  char force[700];
  snprintf(force, sizeof force, "%s,calibrate=1", opts);
  scenario = 0;
  dev = make(force);
  if (dev) check_choice(dev, TW_CPU_MEASURED);
  tw_device_destroy(dev);
}

static void test_forced(const char *opts) {
  scenario = 0; /* avx512bf16's dot product would win */
  setenv("TW_CPU_KERNEL", "avx2", 1);
  tw_device *dev = make(opts);
  unsetenv("TW_CPU_KERNEL");
  if (has_set("avx2")) {
    CHECK(dev && !strcmp(tw_cpu_device_isa(dev), "avx2"));
    if (dev) CHECK(tw_cpu_device_choice(dev)->source == TW_CPU_FIXED);
  }
  tw_device_destroy(dev);
  char skip[700];
  snprintf(skip, sizeof skip, "%s,calibrate=0", opts);
  dev = make(skip);
  tw_cpu_kernels best;
  CHECK(tw_cpu_kernels_select(NULL, &best) == 0);
  CHECK(dev && !strcmp(tw_cpu_device_isa(dev), best.isa));
  if (dev) {
    const tw_cpu_choice *c = tw_cpu_device_choice(dev);
    int mode = best.ukr_dp ? TW_CPU_MODE_DP : TW_CPU_MODE_A16;
    CHECK(c->source == TW_CPU_FIXED && c->mode[0] == mode && c->mode[2] == mode);
  }
  tw_device_destroy(dev);
}


/* Max |C - ref| / sum|a||w| for C from the device, ref in fp64 with A
 * rounded to bf16 or not; W always rounded (stored as bf16). */
static double rel_err(const float *a, const float *w, const float *c, size_t m, size_t k, size_t n,
                      int round_a) {
  double worst = 0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0, mag = 0;
      for (size_t p = 0; p < k; p++) {
        double x = round_a ? tw_test_bf16_round(a[i * k + p]) : a[i * k + p];
        double y = tw_test_bf16_round(w[p * n + j]);
        s += x * y;
        mag += fabs(x * y);
      }
      double e = fabs(c[i * n + j] - s) / (mag > 0 ? mag : 1);
      if (e > worst) worst = e;
    }
  return worst;
}

/* Whatever the calibration chose, default and BF16 compute round A to
 * bf16 and F32 does not: on LARGE (M 40) and GEMV (M 3), in the Intel-like
 * scenario (bf16-fma) and the AMD-like one (bf16-dp where it exists). */
static void test_modes_compute(const char *opts, int which) {
  scenario = which;
  char fresh[700];
  snprintf(fresh, sizeof fresh, "%s,calibrate=1", opts);
  tw_device *dev = make(fresh);
  CHECK(dev != NULL);
  if (!dev) return;
  enum { M = 40, K = 67, N = 45 };
  static float a[M * K], w[K * N], c[M * N];
  tw_rng rng = {0x5eed};
  tw_fill_uniform(&rng, a, M * K, -1, 1);
  tw_fill_uniform(&rng, w, K * N, -1, 1);
  tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N,
                       .storage = TW_DTYPE_DEFAULT};
  void *h = NULL;
  CHECK(dev->iface->weight_prepare(dev, &src, &h) == TW_OK);
  static const tw_dtype computes[3] = {TW_DTYPE_DEFAULT, TW_DTYPE_BF16, TW_DTYPE_F32};
  static const int rounded[3] = {1, 1, 0};
  for (int i = 0; h && i < 6; i++) {
    size_t m = i < 3 ? M : 3;
    tw_direct_gemm g = {.m = m, .k = K, .n = N, .a = a, .a_type = TW_DTYPE_F32, .lda = K,
                        .a_compute = computes[i % 3], .weight = h, .c = c, .ldc = N};
    CHECK(dev->iface->gemm(dev, &g) == TW_OK);
    double same = rel_err(a, w, c, m, K, N, rounded[i % 3]);
    double other = rel_err(a, w, c, m, K, N, !rounded[i % 3]);
    CHECK_MSG(same < 1e-5 && other > 1e-4, "scenario %d M %zu compute %d: err %.3g (other "
              "rounding %.3g)", which, m, i % 3, same, other);
  }
  dev->iface->weight_release(dev, h);
  tw_device_destroy(dev);
}

int main(void) {
  char dir[] = "/tmp/tw_cpu_calib_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char opts[600];
  snprintf(opts, sizeof opts, "cache_dir=%s", dir);
  unsetenv("TW_CPU_KERNEL");
  unsetenv("TW_CPU_RECALIBRATE");
  tw_cpu_calib_set_hook(fake, &scenario);
  test_cache(opts, dir);
  test_forced(opts);
  test_modes_compute(opts, 0);
  test_modes_compute(opts, 1);
  /* an AMX set slower than avx512bf16's dot product is not taken for being
   * the newest; faster, it is (scenarios 3 and 0, measured afresh) */
  for (int s = 3; s >= 0; s -= 3) {
    char fresh[700];
    snprintf(fresh, sizeof fresh, "%s,calibrate=1", opts);
    scenario = s;
    tw_device *dev = make(fresh);
    CHECK(dev != NULL);
    if (dev) check_choice(dev, TW_CPU_MEASURED);
    tw_device_destroy(dev);
  }
  if (!has_set("amx")) printf("test_cpu_calib: no AMX set on this CPU: its choice checked as absent\n");
  tw_cpu_calib_set_hook(NULL, NULL);
  char path[600];
  cache_file(dir, path, sizeof path);
  if (path[0]) remove(path);
  rmdir(dir);
  return tw_test_finish("test_cpu_calib");
}

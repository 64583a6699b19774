/* The cpu device's calibration: candidates, the choice from their figures,
 * and the on-disk cache (one text file per CPU signature, library version
 * and blocking, next to the OpenCL device's calib-*.txt files).  The cache
 * stores the measured figures only; the choice is recomputed from them, so
 * a file can never hold a choice its figures do not support. */
#define _POSIX_C_SOURCE 200809L
#include "device/cpu/calib.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device/device.h"
#include "tilewhisper/tilewhisper.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* 2: the gemv class has a dot-product mode (M <= 8), timed at M 4;
 * 3: AMX set, its small-M kernel on tiles */
#define CACHE_MAGIC "TWCPUCAL3"

static const char *const mode_names[TW_CPU_N_MODES] = {"bf16-dp", "bf16-fma", "a32-fma",
                                                       "fp32"};
static const char *const class_names[TW_CPU_N_CLASSES] = {"large", "skinny", "gemv"};

int tw_cpu_class_of(size_t m) {
  if (m <= TW_CPU_STREAM_MAX_M) return TW_CPU_CLASS_GEMV;
  return m <= TW_CPU_SKINNY_MAX_M ? TW_CPU_CLASS_SKINNY : TW_CPU_CLASS_LARGE;
}

const char *tw_cpu_mode_name(int mode) {
  return mode >= 0 && mode < TW_CPU_N_MODES ? mode_names[mode] : "?";
}

const char *tw_cpu_class_name(int cls) {
  return cls >= 0 && cls < TW_CPU_N_CLASSES ? class_names[cls] : "?";
}

void tw_cpu_choice_fixed(const tw_cpu_kernels *ks, tw_cpu_choice *out) {
  memset(out, 0, sizeof *out);
  out->ks = ks;
  int mode = ks->ukr_dp ? TW_CPU_MODE_DP : TW_CPU_MODE_A16;
  for (int c = 0; c < TW_CPU_N_CLASSES; c++) out->mode[c] = mode;
  out->source = TW_CPU_FIXED;
}

int tw_cpu_candidates(tw_cpu_cand *out, int cap) {
  const tw_cpu_kernels *sets[TW_CPU_MAX_SETS];
  int n_sets = tw_cpu_kernels_usable(sets, TW_CPU_MAX_SETS), n = 0;
  for (int i = 0; i < n_sets; i++) {
    /* FMA modes once per family: a later set of the family (avx512bf16)
     * runs the same FMA kernels as the first (avx512) */
    int first = 1;
    for (int j = 0; j < i; j++) first &= strcmp(sets[j]->family, sets[i]->family) != 0;
    for (int mode = 0; mode < TW_CPU_N_MODES && n < cap; mode++) {
      int want = mode == TW_CPU_MODE_DP ? sets[i]->ukr_dp != NULL : first;
      if (want) out[n++] = (tw_cpu_cand){.ks = sets[i], .mode = mode};
    }
  }
  return n;
}

/* Index of the fastest candidate of `family` on class cls among the modes
 * in mask (bit per mode); -1 when none has a figure. */
static int fastest(const tw_cpu_choice *c, const char *family, int cls, unsigned mask) {
  int best = -1;
  for (int i = 0; i < c->n_cands; i++) {
    const tw_cpu_cand *x = &c->cands[i];
    if (!(mask >> x->mode & 1u) || x->gflops[cls] <= 0) continue;
    if (family && strcmp(x->ks->family, family) != 0) continue;
    if (best < 0 || x->gflops[cls] > c->cands[best].gflops[cls]) best = i;
  }
  return best;
}

int tw_cpu_choose(tw_cpu_choice *c) {
  const unsigned bf16_inputs = 1u << TW_CPU_MODE_DP | 1u << TW_CPU_MODE_A16;
  int top = fastest(c, NULL, TW_CPU_CLASS_LARGE, bf16_inputs);
  if (top < 0) return -1;
  const char *family = c->cands[top].ks->family;
  const tw_cpu_kernels *base = NULL, *with_dp = NULL;
  /* the family's dot-product set: the fastest on LARGE (avx512bf16 or amx) */
  int dp = fastest(c, family, TW_CPU_CLASS_LARGE, 1u << TW_CPU_MODE_DP);
  for (int i = 0; i < c->n_cands; i++) {
    if (strcmp(c->cands[i].ks->family, family) != 0) continue;
    if (c->cands[i].mode == TW_CPU_MODE_DP && !with_dp) with_dp = c->cands[i].ks;
    else if (c->cands[i].mode != TW_CPU_MODE_DP && !base) base = c->cands[i].ks;
  }
  if (dp >= 0) with_dp = c->cands[dp].ks;
  int uses_dp = 0;
  for (int cls = 0; cls < TW_CPU_N_CLASSES; cls++) {
    /* per class the faster of that set's DP and the family's A16 */
    int b = -1;
    for (int i = 0; i < c->n_cands; i++) {
      const tw_cpu_cand *x = &c->cands[i];
      if (strcmp(x->ks->family, family) != 0 || x->gflops[cls] <= 0) continue;
      if (x->mode != TW_CPU_MODE_A16 && !(x->mode == TW_CPU_MODE_DP && x->ks == with_dp))
        continue;
      if (b < 0 || x->gflops[cls] > c->cands[b].gflops[cls]) b = i;
    }
    c->mode[cls] = b >= 0 ? c->cands[b].mode : TW_CPU_MODE_A16;
    uses_dp |= c->mode[cls] == TW_CPU_MODE_DP;
  }
  c->ks = uses_dp && with_dp ? with_dp : base ? base : c->cands[top].ks;
  return 0;
}

/* Option cache_dir, else $XDG_CACHE_HOME/tilewhisper or
 * ~/.cache/tilewhisper (the OpenCL device's convention), created if
 * missing; "" when none is usable. */
static void cache_dir(const char *opts, char *dir, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char base[400];
  dir[0] = '\0';
  if (tw_option_get(opts, "cache_dir", base, sizeof base) && base[0]) {
    mkdir(base, 0700);
    snprintf(dir, cap, "%s", base);
    return;
  }
  if (xdg && *xdg) snprintf(base, sizeof base, "%s", xdg);
  else if (home && *home) snprintf(base, sizeof base, "%s/.cache", home);
  else return;
  mkdir(base, 0700);
  snprintf(dir, cap, "%s/tilewhisper", base);
  struct stat st;
  if (mkdir(dir, 0700) != 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) dir[0] = '\0';
}

/* CPU vendor, family/model/stepping and brand string from CPUID. */
static void cpu_signature(char *buf, size_t cap) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned r[12] = {0}, eax = 0, ebx = 0, ecx = 0, edx = 0;
  char vendor[13] = {0}, brand[49] = {0};
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
    memcpy(vendor, &ebx, 4), memcpy(vendor + 4, &edx, 4), memcpy(vendor + 8, &ecx, 4);
  }
  unsigned sig = __get_cpuid(1, &eax, &ebx, &ecx, &edx) ? eax : 0;
  for (unsigned leaf = 0; leaf < 3; leaf++)
    __get_cpuid(0x80000002u + leaf, &r[4 * leaf], &r[4 * leaf + 1], &r[4 * leaf + 2],
                &r[4 * leaf + 3]);
  memcpy(brand, r, 48);
  for (char *p = brand; *p; p++)
    if (*p == ' ' || *p == ';') *p = '_';
  snprintf(buf, cap, "%s-%08x-%s", vendor, sig, brand);
#else
  snprintf(buf, cap, "unknown-cpu");
#endif
}

/* The cache key: signature, version, the candidates and the blocking. */
static void cache_key(const tw_cpu_choice *c, const char *opts, char *key, size_t cap) {
  char sig[96], mc[16] = "-", kc[16] = "-";
  cpu_signature(sig, sizeof sig);
  tw_option_get(opts, "mc", mc, sizeof mc);
  tw_option_get(opts, "kc", kc, sizeof kc);
  size_t n = (size_t)snprintf(key, cap, "%s;v%s;cands", sig, tw_version());
  for (int i = 0; i < c->n_cands && n < cap; i++)
    n += (size_t)snprintf(key + n, cap - n, ",%s/%s", c->cands[i].ks->isa,
                          tw_cpu_mode_name(c->cands[i].mode));
  if (n < cap) snprintf(key + n, cap - n, ";mc=%s,kc=%s", mc, kc);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

/* Reads the figures of every candidate, in order; 0 unless the file is
 * complete, for this key, and every figure finite and >= 0. */
static int cache_load(const char *path, const char *key, tw_cpu_choice *c) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[1024];
  int ok = fgets(line, sizeof line, f) && !strncmp(line, CACHE_MAGIC " ", strlen(CACHE_MAGIC) + 1);
  if (ok) {
    line[strcspn(line, "\n")] = '\0';
    ok = !strcmp(line + strlen(CACHE_MAGIC) + 1, key);
  }
  for (int i = 0; ok && i < c->n_cands; i++) {
    char isa[32], mode[32];
    double g[TW_CPU_N_CLASSES];
    ok = fscanf(f, "%31s %31s %lf %lf %lf", isa, mode, &g[0], &g[1], &g[2]) == 5 &&
         !strcmp(isa, c->cands[i].ks->isa) && !strcmp(mode, tw_cpu_mode_name(c->cands[i].mode));
    for (int k = 0; ok && k < TW_CPU_N_CLASSES; k++) {
      ok = isfinite(g[k]) && g[k] >= 0;
      c->cands[i].gflops[k] = g[k];
    }
  }
  char end[8];
  ok = ok && fscanf(f, "%7s", end) == 1 && !strcmp(end, "end");
  fclose(f);
  return ok;
}

static void cache_store(const char *path, const char *key, const tw_cpu_choice *c) {
  char tmp[640];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fprintf(f, "%s %s\n", CACHE_MAGIC, key);
  for (int i = 0; i < c->n_cands; i++)
    fprintf(f, "%s %s %.6g %.6g %.6g\n", c->cands[i].ks->isa, tw_cpu_mode_name(c->cands[i].mode),
            c->cands[i].gflops[0], c->cands[i].gflops[1], c->cands[i].gflops[2]);
  fprintf(f, "end\n");
  if (fclose(f) != 0 || rename(tmp, path) != 0) remove(tmp);
}

int tw_cpu_calibrate(const char *opts, tw_cpu_choice *out) {
  memset(out, 0, sizeof *out);
  out->n_cands = tw_cpu_candidates(out->cands, TW_CPU_MAX_CANDS);
  char v[8], dir[440], key[1024], path[600];
  const char *env = getenv("TW_CPU_RECALIBRATE");
  int fresh = (env && *env && strcmp(env, "0") != 0) ||
              (tw_option_get(opts, "calibrate", v, sizeof v) && !strcmp(v, "1"));
  cache_dir(opts, dir, sizeof dir);
  cache_key(out, opts, key, sizeof key);
  snprintf(path, sizeof path, "%s/cpu-calib-%016llx.txt", dir, (unsigned long long)fnv1a(key));
  if (dir[0] && !fresh && cache_load(path, key, out) && tw_cpu_choose(out) == 0) {
    out->source = TW_CPU_CACHED;
    return 0;
  }
  for (int i = 0; i < out->n_cands; i++) memset(out->cands[i].gflops, 0, sizeof out->cands[i].gflops);
  int rc = tw_cpu_measure(out->cands, out->n_cands, opts);
  if (rc) return rc;
  if (tw_cpu_choose(out) != 0) return TW_EUNSUPPORTED;
  out->source = TW_CPU_MEASURED;
  if (dir[0]) cache_store(path, key, out);
  return 0;
}

void tw_cpu_choice_describe(const tw_cpu_choice *c, char *buf, size_t cap) {
  static const char *const sources[3] = {"fixed (TW_CPU_KERNEL or calibrate=0)", "measured",
                                         "cached"};
  size_t n = (size_t)snprintf(buf, cap, "  calibration: %s; kernels %s; bf16 inputs (default) as",
                              sources[c->source], c->ks->isa);
  for (int cls = 0; cls < TW_CPU_N_CLASSES && n < cap; cls++)
    n += (size_t)snprintf(buf + n, cap - n, " %s %s%s", tw_cpu_class_name(cls),
                          tw_cpu_mode_name(c->mode[cls]), cls + 1 < TW_CPU_N_CLASSES ? "," : "\n");
  if (c->n_cands && n < cap)
    n += (size_t)snprintf(buf + n, cap - n,
                          "  measured GFLOP/s on one core (large 224x512x512, skinny 12x512x1536, "
                          "gemv 4x512x4096; a32-fma and fp32 are what explicit F32 gets):\n");
  for (int i = 0; i < c->n_cands && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "    %-10s %-8s %8.1f %8.1f %8.1f\n",
                          c->cands[i].ks->isa, tw_cpu_mode_name(c->cands[i].mode),
                          c->cands[i].gflops[0], c->cands[i].gflops[1], c->cands[i].gflops[2]);
}

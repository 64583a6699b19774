/* tilewhisper bench --encoder: one full 30 s window of a synthetic
 * base-sized Whisper model through the encoder on the cpu device at 1 and 2
 * threads (medians of several runs, stage breakdown, GFLOP/s, real-time
 * factor), and the emulated accelerator's invocation count and modeled time
 * for the same pass. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "core/mem.h"
#include "core/timing.h"
#include "device/emu/profile.h"
#include "whisper/encoder.h"
#include "whisper/mel.h"
#include "whisper/model.h"

static const char *USAGE =
    "usage: tilewhisper bench --encoder [--size tiny|base|small|...] [--runs N] [--no-emu] [--no-cpu]\n"
    "                         [--threads N] [--fp32] [--json]\n"
    "  --fp32: fp32 activations and weights (the encoder's fp32 option); the cpu device's\n"
    "  kernels follow its calibration unless TW_CPU_KERNEL forces a set\n";

/* For scale (quoted, not measured here: whisper.cpp cannot be fetched on
 * these machines): whisper.cpp, April 2025 build with AVX2/FMA/F16C and
 * OpenMP, base encoder on one 30 s window on this machine kind. */
#define WHISPERCPP_2T_S 2.6
#define WHISPERCPP_1T_S 5.1

#define TWO_PI 6.283185307179586

typedef struct enc_bench {
  const char *size;
  int runs, emu, cpu, json;
  int fp32;    /* --fp32: the encoder's fp32 option on the cpu device */
  int threads; /* --threads N: only this count (default 1 and 2) */
  tw_whisper_model *model;
  float *window; /* [n_mels][3000] */
} enc_bench;

/* 30 s of a speech-like test signal (harmonics gliding in pitch, with an
 * amplitude envelope and a little noise) -> log-mel -> window 0. */
static int make_window(enc_bench *b) {
  size_t n = 30 * 16000;
  float *x = malloc(n * sizeof *x), *mel = NULL;
  if (!x) return TW_ENOMEM;
  unsigned long long s = 12345;
  for (size_t i = 0; i < n; i++) {
    double t = (double)i / 16000.0, f0 = 120.0 + 40.0 * sin(TWO_PI * 0.3 * t);
    double v = 0;
    for (int h = 1; h <= 8; h++) v += sin(TWO_PI * f0 * h * t) / h;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double noise = ((double)(s >> 11) * 0x1.0p-53 - 0.5) * 0.02;
    x[i] = (float)(0.1 * v * (0.6 + 0.4 * sin(TWO_PI * 2.0 * t)) + noise);
  }
  tw_errbuf err = {{0}};
  tw_mel *mc = NULL;
  size_t frames = 0;
  int rc = tw_mel_create(b->model->mel_filters, b->model->n_mel, 1, &mc, &err);
  if (!rc) rc = tw_mel_compute(mc, x, n, &mel, &frames, &err);
  b->window = tw_malloc_aligned((size_t)b->model->n_mel * TW_MEL_WINDOW_FRAMES * sizeof(float));
  if (!rc && !b->window) rc = TW_ENOMEM;
  if (!rc) rc = tw_mel_window(mel, b->model->n_mel, frames, 0, b->window, &err);
  if (rc) fprintf(stderr, "bench --encoder: log-mel: %s\n", err.msg);
  tw_mel_destroy(mc);
  free(mel);
  free(x);
  return rc;
}

static int make_model(enc_bench *b) {
  char path[] = "/tmp/tilewhisper-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    fprintf(stderr, "bench --encoder: cannot create a temporary model file\n");
    return TW_EIO;
  }
  close(fd);
  tw_synth_options so = {.size = b->size, .seed = 1};
  tw_errbuf err = {{0}};
  int rc = tw_whisper_synth_write(&so, path, &err);
  if (!rc) rc = tw_whisper_model_load(path, &b->model, &err);
  unlink(path); /* the mapping stays valid after the name is gone */
  if (rc) fprintf(stderr, "bench --encoder: synthetic %s model: %s\n", b->size, err.msg);
  return rc;
}

typedef struct pass_result {
  double median_s, gemm_s, conv_s, ln_post_s, layers_s;
  double flops, modeled_s;
  uint64_t invocations;
  int runs;
} pass_result;

static int run_device(enc_bench *b, const char *device, const char *dev_opts, int threads,
                      int runs, int warmup, pass_result *r) {
  memset(r, 0, sizeof *r);
  tw_context_options co;
  tw_context_options_init(&co);
  co.device = device;
  co.device_options = dev_opts;
  co.threads = threads;
  tw_context *ctx = NULL;
  tw_encoder *enc = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_context_create(&co, &ctx);
  if (rc) {
    fprintf(stderr, "bench --encoder: %s: %s\n", device, tw_last_error());
    return rc;
  }
  tw_encoder_options eo = {.fp32 = b->fp32 && !strcmp(device, "cpu")};
  if ((rc = tw_encoder_create(b->model, ctx, &eo, &enc, &err))) {
    fprintf(stderr, "bench --encoder: %s: %s\n", device, err.msg);
    tw_context_destroy(ctx);
    return rc;
  }
  double times[64];
  float *out;
  tw_encoder_timings t;
  /* a warm-up run takes the engine's first-use allocations out of the figures */
  if (warmup) rc = tw_encoder_run(enc, b->window, &out, &t);
  for (int i = 0; i < runs && !rc; i++) {
    rc = tw_encoder_run(enc, b->window, &out, &t);
    times[i] = t.total_s;
    r->gemm_s += t.gemm_s / runs;
    r->conv_s += t.conv_s / runs;
    r->ln_post_s += t.ln_post_s / runs;
    for (int l = 0; l < t.n_layers; l++) r->layers_s += t.layer_s[l] / runs;
  }
  if (rc) {
    fprintf(stderr, "bench --encoder: %s: %s\n", device, tw_encoder_last_error(enc));
  } else {
    r->median_s = tw_bench_median(times, runs);
    r->flops = t.flops;
    r->invocations = t.invocations;
    r->modeled_s = t.modeled_device_s;
    r->runs = runs;
  }
  tw_encoder_destroy(enc);
  tw_context_destroy(ctx);
  return rc;
}

static void print_cpu(const enc_bench *b, int threads, const pass_result *r) {
  double ref = threads == 1 ? WHISPERCPP_1T_S : WHISPERCPP_2T_S;
  if (b->json) {
    printf("{\"case\":\"encoder-%s-1500\",\"device\":\"cpu\",\"threads\":%d,\"runs\":%d,"
           "\"median_s\":%.6f,\"gflops\":%.2f,\"gemm_s\":%.6f,\"conv_s\":%.6f,\"layers_s\":%.6f,"
           "\"ln_post_s\":%.6f,\"non_gemm_s\":%.6f,\"realtime_factor\":%.2f,"
           "\"whispercpp_quoted_s\":%.1f}\n",
           b->size, threads, r->runs, r->median_s, r->flops / r->median_s * 1e-9, r->gemm_s,
           r->conv_s, r->layers_s, r->ln_post_s, r->median_s - r->gemm_s, 30.0 / r->median_s,
           ref);
    return;
  }
  printf("  cpu, %d thread%s: %.3f s median of %d (%.1f GFLOP/s, %.0fx real time)\n", threads,
         threads > 1 ? "s" : " ", r->median_s, r->runs, r->flops / r->median_s * 1e-9,
         30.0 / r->median_s);
  printf("      stages: conv %.3f s, %d layers %.3f s, ln_post %.4f s; in GEMMs %.3f s, "
         "elsewhere %.3f s\n",
         r->conv_s, b->model->hp.n_audio_layer, r->layers_s, r->ln_post_s, r->gemm_s,
         r->median_s - r->gemm_s);
  if (!strcmp(b->size, "base"))
    printf("      whisper.cpp (quoted, not measured here): %.1f s -> %.1fx faster\n", ref,
           ref / r->median_s);
}

/* The run planned with the xdna1 figures; the device models xdna1 time as it
 * runs, and the seed profile (a flat 54.4 ms per invocation) follows from the
 * count. */
static void print_emu(const enc_bench *b, const char *label, const pass_result *r) {
  tw_emu_profile seed;
  double seed_s = tw_emu_profile_get("seed", &seed) == TW_OK
                      ? tw_emu_profile_model(&seed, r->invocations, 0, 0, 0, 0)
                      : 0;
  if (b->json) {
    printf("{\"case\":\"encoder-%s-1500\",\"device\":\"emu\",\"kernels\":\"%s\","
           "\"invocations\":%llu,\"modeled_s\":{\"seed\":%.6f,\"xdna1\":%.6f},"
           "\"wall_s\":%.6f}\n",
           b->size, label, (unsigned long long)r->invocations, seed_s, r->modeled_s, r->median_s);
    return;
  }
  printf("  emu, %-28s %7llu invocations; MODELED %.3f s (xdna1), %.1f s (seed profile);"
         " emulator wall %.1f s\n",
         label, (unsigned long long)r->invocations, r->modeled_s, seed_s, r->median_s);
}

int tw_bench_encoder(int argc, char **argv) {
  enc_bench b = {.size = "base", .runs = 5, .emu = 1, .cpu = 1};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) b.json = 1;
    else if (!strcmp(argv[i], "--no-emu")) b.emu = 0;
    else if (!strcmp(argv[i], "--no-cpu")) b.cpu = 0;
    else if (!strcmp(argv[i], "--fp32")) b.fp32 = 1;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      b.threads = atoi(argv[++i]);
      if (b.threads < 1 || b.threads > 256) {
        fprintf(stderr, "bench --encoder: --threads wants 1..256\n%s", USAGE);
        return 2;
      }
    }
    else if (!strcmp(argv[i], "--size") && i + 1 < argc) b.size = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      b.runs = atoi(argv[++i]);
      if (b.runs < 1 || b.runs > 64) {
        fprintf(stderr, "bench --encoder: --runs wants 1..64\n%s", USAGE);
        return 2;
      }
    } else if (!strcmp(argv[i], "--help")) {
      printf("%s", USAGE);
      return 0;
    } else {
      fprintf(stderr, "bench --encoder: unknown option '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  int rc = make_model(&b);
  if (!rc) rc = make_window(&b);
  if (!b.json && !rc)
    printf("encoder bench: synthetic %s model (%d layers, n_state %d), one 30 s window "
           "(1500 positions, %.1f GFLOP), %s activations and weights\n",
           b.size, b.model->hp.n_audio_layer, b.model->hp.n_audio_state,
           tw_encoder_flops(&b.model->hp, 1500) * 1e-9, b.fp32 ? "fp32" : "bf16");
  pass_result r;
  int t0 = b.threads ? b.threads : 1, t1 = b.threads ? b.threads : 2;
  for (int threads = t0; threads <= t1 && !rc && b.cpu; threads++)
    if (!(rc = run_device(&b, "cpu", NULL, threads, b.runs, 1, &r))) print_cpu(&b, threads, &r);
  if (b.emu && !rc && !(rc = run_device(&b, "emu", "profile=xdna1", 2, 1, 0, &r)))
    print_emu(&b, "seed's kernels (planned):", &r);
  if (b.emu && !rc && !(rc = run_device(&b, "emu", "profile=xdna1,large=1", 2, 1, 0, &r)))
    print_emu(&b, "larger shapes (planned-large):", &r);
  tw_whisper_model_free(b.model);
  tw_free(b.window);
  return rc ? 1 : 0;
}

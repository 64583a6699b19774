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
#include "tilewhisper/tilewhisper.h"

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
  char path[64];       /* the synthetic model file, removed at the end */
  tw_model_info info;
  float *pcm;          /* 30 s of test signal */
  size_t n_pcm;
} enc_bench;

/* 30 s of a speech-like test signal (harmonics gliding in pitch, with an
 * amplitude envelope and a little noise); its log-mel is window 0. */
static int make_signal(enc_bench *b) {
  size_t n = 30 * 16000;
  float *x = malloc(n * sizeof *x);
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
  b->pcm = x;
  b->n_pcm = n;
  return TW_OK;
}

/* Written once, loaded once per device (a model's weights live on its
 * device). */
static int make_model(enc_bench *b) {
  return tw_bench_synth_model("bench --encoder", b->size, b->path, sizeof b->path, &b->info);
}

typedef struct pass_result {
  double median_s, gemm_s, conv_s, ln_post_s, layers_s;
  double flops, modeled_s;
  uint64_t invocations;
  int runs;
} pass_result;

static int run_device(enc_bench *b, const char *device, int threads, int runs, int warmup,
                      pass_result *r) {
  memset(r, 0, sizeof *r);
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = device;
  mo.threads = threads;
  mo.fp32 = b->fp32 && !strcmp(device, "cpu");
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = threads;
  tw_model *model = NULL;
  tw_state *st = NULL;
  int rc = tw_model_load_file(b->path, &mo, &model);
  if (!rc) rc = tw_state_create(model, &so, &st);
  if (!rc) rc = tw_state_set_pcm(st, b->pcm, b->n_pcm, NULL);
  if (rc) {
    fprintf(stderr, "bench --encoder: %s: %s\n", device, tw_last_error());
    tw_state_destroy(st);
    tw_model_destroy(model);
    return rc;
  }
  double times[64];
  tw_encode_stats t;
  /* a warm-up run takes the engine's first-use allocations out of the figures */
  if (warmup) rc = tw_encode_window(st, 0, NULL, &t);
  for (int i = 0; i < runs && !rc; i++) {
    rc = tw_encode_window(st, 0, NULL, &t);
    times[i] = t.total_s;
    r->gemm_s += t.gemm_s / runs;
    r->conv_s += t.conv_s / runs;
    r->ln_post_s += t.ln_post_s / runs;
    r->layers_s += t.layers_s / runs;
  }
  if (rc) {
    fprintf(stderr, "bench --encoder: %s: %s\n", device, tw_state_last_error(st));
  } else {
    r->median_s = tw_bench_median(times, runs);
    r->flops = t.flops;
    r->invocations = t.invocations;
    r->modeled_s = t.modeled_device_s;
    r->runs = runs;
  }
  tw_state_destroy(st);
  tw_model_destroy(model);
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
         r->conv_s, b->info.n_audio_layer, r->layers_s, r->ln_post_s, r->gemm_s,
         r->median_s - r->gemm_s);
  if (!strcmp(b->size, "base"))
    printf("      whisper.cpp (quoted, not measured here): %.1f s -> %.1fx faster\n", ref,
           ref / r->median_s);
}

/* The run planned with the xdna1 figures; the device models xdna1 time as it
 * runs, and the seed profile (a flat 54.4 ms per invocation) follows from the
 * count. */
static void print_emu(const enc_bench *b, const char *label, const pass_result *r) {
  double seed_s = 0;
  tw_study_modeled_time("seed", r->invocations, 0, 0, 0, 0, &seed_s);
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
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("%s", USAGE);
      return 0;
    } else {
      fprintf(stderr, "bench --encoder: unknown option '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  int rc = make_model(&b);
  if (!rc) rc = make_signal(&b);
  if (!b.json && !rc)
    printf("encoder bench: synthetic %s model (%d layers, n_state %d), one 30 s window "
           "(%d positions), %s activations and weights\n",
           b.size, b.info.n_audio_layer, b.info.n_audio_state, b.info.n_audio_ctx,
           b.fp32 ? "fp32" : "bf16");
  pass_result r;
  int t0 = b.threads ? b.threads : 1, t1 = b.threads ? b.threads : 2;
  for (int threads = t0; threads <= t1 && !rc && b.cpu; threads++)
    if (!(rc = run_device(&b, "cpu", threads, b.runs, 1, &r))) print_cpu(&b, threads, &r);
  if (b.emu && !rc && !(rc = run_device(&b, "emu:profile=xdna1", 2, 1, 0, &r)))
    print_emu(&b, "seed's kernels (planned):", &r);
  if (b.emu && !rc && !(rc = run_device(&b, "emu:profile=xdna1,large=1", 2, 1, 0, &r)))
    print_emu(&b, "larger shapes (planned-large):", &r);
  if (b.path[0]) unlink(b.path);
  free(b.pcm);
  return rc ? 1 : 0;
}

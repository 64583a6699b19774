/* tilewhisper bench --decoder: the text decoder of a synthetic base-sized
 * model on the cpu device: median time per step at B = 1 and B = 5 from a
 * 4-token prompt up to 224 tokens, the cross K/V of one window (with the
 * encoder's time beside it), a 224-token prefill, and the weight bytes one
 * step reads against the measured read bandwidth; then, on the emulated
 * accelerator, the invocations and modeled time of one M = 1 step. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <math.h>

#include "bench.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "usage: tilewhisper bench --decoder [--size tiny|base|...] [--threads N] [--runs N] [--fp32]\n"
    "                         [--no-emu] [--json]\n";

#define PROMPT 4
#define LAST 224 /* tokens after the last step (OpenAI's sample_len cap) */
#define BEAMS 5

typedef struct dec_bench {
  const char *size;
  int runs, threads, fp32, emu, json;
  char path[64];      /* the synthetic model file, removed at the end */
  tw_model_info info; /* its hparams */
  float *pcm, *logits;
  size_t n_pcm;
  int32_t tokens[BEAMS][LAST];
} dec_bench;

/* What was measured; times in seconds. */
typedef struct dec_figures {
  double encoder_s, cross_s, prefill_s;
  double step_s[2], step_first_s[2], step_last_s[2], step_gemm_s[2]; /* [B = 1, B = 5] */
  double step_calls[2];
  double bytes, cross_bytes, read_bw;
  double emu_cross_wall_s, emu_step_modeled_s, emu_step_calls;
  unsigned long long emu_step_invocations;
} dec_figures;

static int make_model(dec_bench *b) {
  return tw_bench_synth_model("bench --decoder", b->size, b->path, sizeof b->path, &b->info);
}

/* 30 s of noise-like audio and random token ids (the decoder's cost does
 * not depend on the values). */
static int make_inputs(dec_bench *b) {
  b->n_pcm = 30 * 16000;
  b->pcm = malloc(b->n_pcm * sizeof *b->pcm);
  b->logits = malloc((size_t)BEAMS * b->info.n_vocab * sizeof *b->logits);
  if (!b->pcm || !b->logits) return TW_ENOMEM;
  unsigned long long s = 2024;
  for (size_t i = 0; i < b->n_pcm; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    b->pcm[i] = (float)(((double)(s >> 11) * 0x1.0p-53 - 0.5) * 0.2);
  }
  for (int k = 0; k < BEAMS; k++)
    for (int t = 0; t < LAST; t++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      b->tokens[k][t] = (int32_t)((s >> 33) % 50000);
    }
  return 0;
}

/* The model on `enc_device` / `dec_device` and a state over 30 s of audio. */
static int open_state(dec_bench *b, const char *enc_device, const char *dec_device,
                      tw_model **model, tw_state **st) {
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.encoder_device = enc_device;
  mo.decoder_device = dec_device;
  mo.threads = b->threads;
  mo.fp32 = b->fp32;
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = b->threads;
  so.max_beams = BEAMS;
  int rc = tw_model_load_file(b->path, &mo, model);
  if (!rc) rc = tw_state_create(*model, &so, st);
  if (!rc) rc = tw_state_set_pcm(*st, b->pcm, b->n_pcm, NULL);
  if (rc) fprintf(stderr, "bench --decoder: %s/%s: %s\n", enc_device, dec_device, tw_last_error());
  return rc;
}

static int fail(const char *what, int rc, const char *msg) {
  fprintf(stderr, "bench --decoder: %s: %s\n", what, msg);
  return rc;
}

/* Prompt of PROMPT tokens, fanned out to n_seq sequences, then one step per
 * token up to LAST: median, first-20 and last-20 medians, GEMM share. */
static int time_steps(dec_bench *b, tw_state *st, int n_seq, dec_figures *f, int which) {
  static double t[LAST];
  int rc = tw_decode(st, 1, PROMPT, b->tokens[0], 0, PROMPT - 1, b->logits);
  const int src[BEAMS] = {0};
  if (!rc && n_seq > 1) rc = tw_decode_reorder(st, n_seq, src, PROMPT);
  tw_gemm_stats s0, s1;
  tw_state_stats(st, &s0);
  int n = 0;
  for (int pos = PROMPT; pos < LAST && !rc; pos++, n++) {
    int32_t tok[BEAMS];
    for (int k = 0; k < n_seq; k++) tok[k] = b->tokens[k][pos];
    double t0 = tw_cli_now();
    rc = tw_decode(st, n_seq, 1, tok, pos, 0, b->logits);
    t[n] = tw_cli_now() - t0;
  }
  if (rc) return fail("steps", rc, tw_state_last_error(st));
  tw_state_stats(st, &s1);
  f->step_gemm_s[which] = (s1.total_s - s0.total_s) / n;
  f->step_calls[which] = (double)(s1.calls - s0.calls) / n;
  double first[20], last[20];
  memcpy(first, t, sizeof first);
  memcpy(last, t + n - 20, sizeof last);
  f->step_first_s[which] = tw_bench_median(first, 20);
  f->step_last_s[which] = tw_bench_median(last, 20);
  f->step_s[which] = tw_bench_median(t, n);
  return 0;
}

/* Encoder, the cross K/V of setting the window for decoding (timed inside
 * the library: the state's cross_kv_s before and after) and prefill, each
 * the median of b->runs. */
static int time_window(dec_bench *b, tw_state *st, dec_figures *f) {
  double te[32], tw[32], tp[32];
  int rc = tw_decode_set_window(st, 0); /* warm-up */
  for (int r = 0; r < b->runs && !rc; r++) {
    double t0 = tw_cli_now();
    rc = tw_encode_window(st, 0, NULL, NULL);
    te[r] = tw_cli_now() - t0;
    tw_transcribe_stats before, after;
    if (!rc) rc = tw_state_transcribe_stats(st, &before);
    if (!rc) rc = tw_decode_set_window(st, 0);
    if (!rc) rc = tw_state_transcribe_stats(st, &after);
    tw[r] = rc ? 0 : after.cross_kv_s - before.cross_kv_s;
  }
  int32_t *prompt = &b->tokens[0][0]; /* LAST tokens */
  if (!rc) rc = tw_decode(st, 1, LAST, prompt, 0, LAST - 1, b->logits); /* warm-up */
  for (int r = 0; r < b->runs && !rc; r++) {
    double t0 = tw_cli_now();
    rc = tw_decode(st, 1, LAST, prompt, 0, LAST - 1, b->logits);
    tp[r] = tw_cli_now() - t0;
  }
  if (rc) return fail("encoder, cross K/V or prefill", rc, tw_state_last_error(st));
  f->encoder_s = tw_bench_median(te, b->runs);
  f->cross_s = tw_bench_median(tw, b->runs);
  f->prefill_s = tw_bench_median(tp, b->runs);
  return 0;
}

static int run_cpu(dec_bench *b, dec_figures *f) {
  tw_model *model = NULL;
  tw_state *st = NULL;
  int rc = open_state(b, "cpu", "cpu", &model, &st);
  if (!rc) rc = time_window(b, st, f);
  if (!rc) rc = time_steps(b, st, 1, f, 0);
  if (!rc) rc = time_steps(b, st, BEAMS, f, 1);
  tw_model_info info;
  if (!rc && !(rc = tw_model_get_info(model, &info))) f->bytes = info.decoder_step_bytes;
  /* every layer's prepared cross K_h^T and V_h, read by every step too */
  f->cross_bytes = 2.0 * b->info.n_text_layer * b->info.n_audio_ctx * b->info.n_text_state *
                   (b->fp32 ? 4 : 2);
  tw_state_destroy(st);
  tw_model_destroy(model);
  return rc;
}

/* One M = 1 step with the decoder on the emulated accelerator (xdna1 cost
 * profile) and the encoder on the cpu, as an NPU deployment splits them. */
static int run_emu(dec_bench *b, dec_figures *f) {
  tw_model *model = NULL;
  tw_state *st = NULL;
  int rc = open_state(b, "cpu", "emu:profile=xdna1", &model, &st);
  double t0 = tw_cli_now();
  if (!rc) rc = tw_decode_set_window(st, 0);
  f->emu_cross_wall_s = tw_cli_now() - t0;
  if (!rc) rc = tw_decode(st, 1, PROMPT, b->tokens[0], 0, PROMPT - 1, b->logits);
  tw_gemm_stats s0, s1;
  tw_state_stats(st, &s0);
  if (!rc) rc = tw_decode(st, 1, 1, &b->tokens[0][PROMPT], PROMPT, 0, b->logits);
  tw_state_stats(st, &s1);
  if (rc && st) fail("emu step", rc, tw_state_last_error(st));
  f->emu_step_invocations = (unsigned long long)(s1.invocations - s0.invocations);
  f->emu_step_modeled_s = s1.modeled_device_s - s0.modeled_device_s;
  f->emu_step_calls = (double)(s1.calls - s0.calls);
  tw_state_destroy(st);
  tw_model_destroy(model);
  return rc;
}

static const char *met(int ok) { return ok ? "met" : "NOT met"; }

static void report(const dec_bench *b, const dec_figures *f, double load) {
  const double stream_s = f->bytes / f->read_bw;
  const double r1 = f->step_s[0] / stream_s, r5 = f->step_s[1] / f->step_s[0];
  const double rc = f->cross_s / f->encoder_s;
  if (b->json) {
    printf("{\"case\":\"decoder-%s\",\"threads\":%d,\"fp32\":%s,\"load_avg\":%.2f,"
           "\"step_b1_s\":%.6f,\"step_b5_s\":%.6f,\"step_b1_first20_s\":%.6f,"
           "\"step_b1_last20_s\":%.6f,\"step_b5_first20_s\":%.6f,\"step_b5_last20_s\":%.6f,"
           "\"step_b1_gemm_s\":%.6f,\"step_b5_gemm_s\":%.6f,\"step_b1_calls\":%.0f,"
           "\"step_b5_calls\":%.0f,\"weight_bytes\":%.0f,\"cross_kv_bytes\":%.0f,"
           "\"read_bw\":%.4e,\"stream_s\":%.6f,"
           "\"x_stream\":%.3f,\"b5_over_b1\":%.3f,\"cross_s\":%.6f,\"encoder_s\":%.6f,"
           "\"cross_over_encoder\":%.4f,\"prefill_224_s\":%.6f,\"emu_step_invocations\":%llu,"
           "\"emu_step_calls\":%.0f,\"emu_step_modeled_s\":%.6f}\n",
           b->size, b->threads, b->fp32 ? "true" : "false", load, f->step_s[0], f->step_s[1],
           f->step_first_s[0], f->step_last_s[0], f->step_first_s[1], f->step_last_s[1],
           f->step_gemm_s[0], f->step_gemm_s[1], f->step_calls[0], f->step_calls[1], f->bytes,
           f->cross_bytes, f->read_bw, stream_s, r1, r5, f->cross_s, f->encoder_s, rc, f->prefill_s,
           f->emu_step_invocations, f->emu_step_calls, f->emu_step_modeled_s);
    return;
  }
  printf("decoder bench: synthetic %s model (%d layers, n_state %d, n_vocab %d), cpu, %d threads, "
         "%s; load average %.2f at the start\n",
         b->size, b->info.n_text_layer, b->info.n_text_state, b->info.n_vocab,
         b->threads, b->fp32 ? "fp32" : "bf16", load);
  for (int i = 0; i < 2; i++)
    printf("  step B = %d: %.2f ms median of %d steps (%d..%d tokens; first 20 %.2f ms, last 20 "
           "%.2f ms), %.0f engine calls, %.2f ms in them\n",
           i ? BEAMS : 1, f->step_s[i] * 1e3, LAST - PROMPT, PROMPT, LAST, f->step_first_s[i] * 1e3,
           f->step_last_s[i] * 1e3, f->step_calls[i], f->step_gemm_s[i] * 1e3);
  printf("  weights read per step %.1f MB; read bandwidth %.2f GB/s -> streaming bound %.2f ms\n"
         "  (each step also reads the window's cross K/V, %.1f MB: %.2f ms more at that rate)\n",
         f->bytes / 1e6, f->read_bw / 1e9, stream_s * 1e3, f->cross_bytes / 1e6,
         f->cross_bytes / f->read_bw * 1e3);
  printf("  target B = 1 step <= 1.3x the streaming bound: %.2fx, %s\n", r1, met(r1 <= 1.3));
  printf("  target B = 5 step <= 1.6x the B = 1 step: %.2fx, %s\n", r5, met(r5 <= 1.6));
  printf("  cross K/V of one window %.1f ms (timed inside set_window, median); "
         "encoder %.1f ms -> %.1f%% (target <= 10%%: %s)\n",
         f->cross_s * 1e3, f->encoder_s * 1e3, 100.0 * rc, met(rc <= 0.10));
  printf("  prefill of %d tokens: %.1f ms (%.2f ms per token)\n", LAST, f->prefill_s * 1e3,
         f->prefill_s * 1e3 / LAST);
  if (b->emu)
    printf("  decoder on emu (xdna1 profile), encoder on cpu: one M = 1 step at %d cached tokens: "
           "%.0f engine calls, %llu invocations, MODELED %.1f ms (window set up in %.1f s of "
           "emulator wall time)\n",
           PROMPT, f->emu_step_calls, f->emu_step_invocations, f->emu_step_modeled_s * 1e3,
           f->emu_cross_wall_s);
}

static double load_average(void) {
  double l = -1.0;
  FILE *fp = fopen("/proc/loadavg", "r");
  if (fp) {
    if (fscanf(fp, "%lf", &l) != 1) l = -1.0;
    fclose(fp);
  }
  return l;
}

static int parse(int argc, char **argv, dec_bench *b) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) b->json = 1;
    else if (!strcmp(argv[i], "--fp32")) b->fp32 = 1;
    else if (!strcmp(argv[i], "--no-emu")) b->emu = 0;
    else if (!strcmp(argv[i], "--size") && i + 1 < argc) b->size = argv[++i];
    else if ((!strcmp(argv[i], "--runs") || !strcmp(argv[i], "--threads")) && i + 1 < argc) {
      int v = atoi(argv[i + 1]), runs = !strcmp(argv[i++], "--runs");
      if (v < 1 || v > (runs ? 32 : 256)) {
        fprintf(stderr, "bench --decoder: --%s wants 1..%d\n%s", runs ? "runs" : "threads",
                runs ? 32 : 256, USAGE);
        return 2;
      }
      *(runs ? &b->runs : &b->threads) = v;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("%s", USAGE);
      return 1;
    } else {
      fprintf(stderr, "bench --decoder: unknown option '%s'\n%s", argv[i], USAGE);
      return 2;
    }
  }
  return 0;
}

int tw_bench_decoder(int argc, char **argv) {
  static dec_bench b;
  memset(&b, 0, sizeof b);
  b.size = "base", b.runs = 5, b.threads = 2, b.emu = 1;
  int rc = parse(argc, argv, &b);
  if (rc) return rc == 1 ? 0 : rc;
  const double load = load_average();
  dec_figures f;
  memset(&f, 0, sizeof f);
  rc = make_model(&b);
  if (!rc) rc = make_inputs(&b);
  if (!rc) rc = run_cpu(&b, &f);
  if (!rc) {
    double s;
    f.read_bw = tw_bench_read_bw(b.threads, 9, &s);
  }
  if (!rc && b.emu) rc = run_emu(&b, &f);
  if (!rc) report(&b, &f, load);
  if (b.path[0]) unlink(b.path);
  free(b.pcm);
  free(b.logits);
  return rc ? 1 : 0;
}

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

#include "bench.h"
#include "core/mem.h"
#include "core/timing.h"
#include "whisper/decoder.h"
#include "whisper/encoder.h"
#include "whisper/model.h"

static const char *USAGE =
    "usage: tilewhisper bench --decoder [--size tiny|base|...] [--threads N] [--runs N] [--fp32]\n"
    "                         [--no-emu] [--json]\n";

#define PROMPT 4
#define LAST 224 /* tokens after the last step (OpenAI's sample_len cap) */
#define BEAMS 5

typedef struct dec_bench {
  const char *size;
  int runs, threads, fp32, emu, json;
  tw_whisper_model *model;
  float *mel, *logits;
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
  char path[] = "/tmp/tilewhisper-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    fprintf(stderr, "bench --decoder: cannot create a temporary model file\n");
    return TW_EIO;
  }
  close(fd);
  tw_synth_options so = {.size = b->size, .seed = 1};
  tw_errbuf err = {{0}};
  int rc = tw_whisper_synth_write(&so, path, &err);
  if (!rc) rc = tw_whisper_model_load(path, &b->model, &err);
  unlink(path); /* the mapping stays valid after the name is gone */
  if (rc) fprintf(stderr, "bench --decoder: synthetic %s model: %s\n", b->size, err.msg);
  return rc;
}

/* A random log-mel window and random token ids (the decoder's cost does not
 * depend on the values). */
static int make_inputs(dec_bench *b) {
  const size_t n = (size_t)b->model->hp.n_mels * 3000;
  b->mel = tw_malloc_aligned(n * sizeof *b->mel);
  b->logits = tw_malloc_aligned((size_t)BEAMS * b->model->hp.n_vocab * sizeof *b->logits);
  if (!b->mel || !b->logits) return TW_ENOMEM;
  unsigned long long s = 2024;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    b->mel[i] = (float)((double)(s >> 11) * 0x1.0p-53 * 2.5 - 1.0);
  }
  for (int k = 0; k < BEAMS; k++)
    for (int t = 0; t < LAST; t++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      b->tokens[k][t] = (int32_t)((s >> 33) % 50000);
    }
  return 0;
}

static tw_context *open_ctx(const char *device, const char *opts, int threads) {
  tw_context_options co;
  tw_context_options_init(&co);
  co.device = device;
  co.device_options = opts;
  co.threads = threads;
  tw_context *ctx = NULL;
  if (tw_context_create(&co, &ctx))
    fprintf(stderr, "bench --decoder: %s: %s\n", device, tw_last_error());
  return ctx;
}

static int fail(const char *what, int rc, const char *msg) {
  fprintf(stderr, "bench --decoder: %s: %s\n", what, msg);
  return rc;
}

/* Prompt of PROMPT tokens, fanned out to n_seq sequences, then one step per
 * token up to LAST: median, first-20 and last-20 medians, GEMM share. */
static int time_steps(dec_bench *b, tw_decoder_state *st, tw_context *ctx, int n_seq,
                      dec_figures *f, int which) {
  static double t[LAST];
  int rc = tw_decoder_decode(st, 1, PROMPT, b->tokens[0], 0, PROMPT - 1, b->logits);
  const int src[BEAMS] = {0};
  if (!rc && n_seq > 1) rc = tw_decoder_reorder(st, n_seq, src, PROMPT);
  tw_gemm_stats s0, s1;
  tw_context_stats(ctx, &s0);
  int n = 0;
  for (int pos = PROMPT; pos < LAST && !rc; pos++, n++) {
    int32_t tok[BEAMS];
    for (int k = 0; k < n_seq; k++) tok[k] = b->tokens[k][pos];
    double t0 = tw_now();
    rc = tw_decoder_decode(st, n_seq, 1, tok, pos, 0, b->logits);
    t[n] = tw_now() - t0;
  }
  if (rc) return fail("steps", rc, tw_decoder_last_error(st));
  tw_context_stats(ctx, &s1);
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

/* Encoder, cross K/V and prefill, each the median of b->runs. */
static int time_window(dec_bench *b, tw_encoder *enc, tw_decoder_state *st, dec_figures *f) {
  double te[32], tc[32], tp[32];
  float *out = NULL;
  int rc = tw_encoder_run(enc, b->mel, &out, NULL); /* warm-up */
  for (int r = 0; r < b->runs && !rc; r++) {
    double t0 = tw_now();
    rc = tw_encoder_run(enc, b->mel, &out, NULL);
    te[r] = tw_now() - t0;
  }
  if (rc) return fail("encoder", rc, tw_encoder_last_error(enc));
  rc = tw_decoder_set_audio(st, out, tw_encoder_n_ctx(enc));
  int32_t *prompt = &b->tokens[0][0]; /* LAST tokens */
  if (!rc) rc = tw_decoder_decode(st, 1, LAST, prompt, 0, LAST - 1, b->logits); /* warm-up */
  for (int r = 0; r < b->runs && !rc; r++) {
    double t0 = tw_now();
    rc = tw_decoder_set_audio(st, out, tw_encoder_n_ctx(enc));
    double t1 = tw_now();
    if (!rc) rc = tw_decoder_decode(st, 1, LAST, prompt, 0, LAST - 1, b->logits);
    tc[r] = t1 - t0, tp[r] = tw_now() - t1;
  }
  if (rc) return fail("cross K/V or prefill", rc, tw_decoder_last_error(st));
  f->encoder_s = tw_bench_median(te, b->runs);
  f->cross_s = tw_bench_median(tc, b->runs);
  f->prefill_s = tw_bench_median(tp, b->runs);
  return 0;
}

static int run_cpu(dec_bench *b, dec_figures *f) {
  tw_context *ctx = open_ctx("cpu", NULL, b->threads);
  if (!ctx) return TW_ENOTFOUND;
  tw_encoder *enc = NULL;
  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  tw_encoder_options eo;
  tw_encoder_options_init(&eo);
  eo.fp32 = b->fp32;
  tw_decoder_options dopt = {.fp32 = b->fp32};
  tw_errbuf err = {{0}};
  int rc = tw_encoder_create(b->model, ctx, &eo, &enc, &err);
  if (!rc) rc = tw_decoder_create(b->model, ctx, &dopt, &dec, &err);
  if (!rc) rc = tw_decoder_state_create(dec, ctx, BEAMS, 0, &st, &err);
  if (rc) fail("cpu", rc, err.msg);
  if (!rc) rc = time_window(b, enc, st, f);
  if (!rc) rc = time_steps(b, st, ctx, 1, f, 0);
  if (!rc) rc = time_steps(b, st, ctx, BEAMS, f, 1);
  if (!rc) f->bytes = tw_decoder_step_weight_bytes(dec);
  /* every layer's prepared cross K_h^T and V_h, read by every step too */
  const tw_whisper_hparams *hp = &b->model->hp;
  f->cross_bytes = 2.0 * hp->n_text_layer * hp->n_audio_ctx * hp->n_text_state * (b->fp32 ? 4 : 2);
  tw_decoder_state_destroy(st);
  tw_decoder_destroy(dec);
  tw_encoder_destroy(enc);
  tw_context_destroy(ctx);
  return rc;
}

/* One M = 1 step on the emulated accelerator (xdna1 cost profile), the
 * window's cross K/V set from a zero encoder output first. */
static int run_emu(dec_bench *b, dec_figures *f) {
  tw_context *ctx = open_ctx("emu", "profile=xdna1", b->threads);
  if (!ctx) return TW_ENOTFOUND;
  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  tw_errbuf err = {{0}};
  const size_t n_out = (size_t)b->model->hp.n_audio_ctx * b->model->hp.n_text_state;
  float *enc_out = tw_calloc_aligned(n_out, sizeof *enc_out);
  int rc = enc_out ? tw_decoder_create(b->model, ctx, NULL, &dec, &err) : TW_ENOMEM;
  if (!rc) rc = tw_decoder_state_create(dec, ctx, 1, 0, &st, &err);
  if (rc) fail("emu", rc, err.msg);
  double t0 = tw_now();
  if (!rc) rc = tw_decoder_set_audio(st, enc_out, b->model->hp.n_audio_ctx);
  f->emu_cross_wall_s = tw_now() - t0;
  if (!rc) rc = tw_decoder_decode(st, 1, PROMPT, b->tokens[0], 0, PROMPT - 1, b->logits);
  tw_gemm_stats s0, s1;
  tw_context_stats(ctx, &s0);
  if (!rc) rc = tw_decoder_decode(st, 1, 1, &b->tokens[0][PROMPT], PROMPT, 0, b->logits);
  tw_context_stats(ctx, &s1);
  if (rc && st) fail("emu step", rc, tw_decoder_last_error(st));
  f->emu_step_invocations = (unsigned long long)(s1.invocations - s0.invocations);
  f->emu_step_modeled_s = s1.modeled_device_s - s0.modeled_device_s;
  f->emu_step_calls = (double)(s1.calls - s0.calls);
  tw_decoder_state_destroy(st);
  tw_decoder_destroy(dec);
  tw_context_destroy(ctx);
  tw_free(enc_out);
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
         b->size, b->model->hp.n_text_layer, b->model->hp.n_text_state, b->model->hp.n_vocab,
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
  printf("  cross K/V of one window %.1f ms; encoder %.1f ms -> %.1f%% (target <= 10%%: %s)\n",
         f->cross_s * 1e3, f->encoder_s * 1e3, 100.0 * rc, met(rc <= 0.10));
  printf("  prefill of %d tokens: %.1f ms (%.2f ms per token)\n", LAST, f->prefill_s * 1e3,
         f->prefill_s * 1e3 / LAST);
  if (b->emu)
    printf("  emu (xdna1 profile), one M = 1 step at %d cached tokens: %.0f engine calls, %llu "
           "invocations, MODELED %.1f ms (cross K/V set up in %.1f s of emulator wall time)\n",
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
    } else if (!strcmp(argv[i], "--help")) {
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
  tw_threadpool *pool = NULL;
  if (!rc && !(rc = tw_threadpool_create(b.threads, &pool))) {
    double s;
    f.read_bw = tw_bench_read_bw(pool, 9, &s);
    tw_threadpool_destroy(pool);
  }
  if (!rc && b.emu) rc = run_emu(&b, &f);
  if (!rc) report(&b, &f, load);
  tw_whisper_model_free(b.model);
  tw_free(b.mel);
  tw_free(b.logits);
  return rc ? 1 : 0;
}

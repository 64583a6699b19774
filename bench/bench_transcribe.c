/* tilewhisper bench --transcribe: an audio file (jfk.wav) end to end
 * through tw_transcribe on a synthetic base-sized model (or --model FILE),
 * greedy and beam 5, each window decoding a fixed number of tokens
 * (--max-tokens-per-window: random weights would otherwise end windows at
 * arbitrary points).  Stages, each the median over --runs:
 *   load     tw_model_load_file + tw_state_create (weights prepared)
 *   read     tw_audio_read_file
 *   mel, encoder, cross K/V, decoder, rules: inside tw_transcribe, as it
 *            reports them (tw_state_transcribe_stats): log-mel, encoder
 *            passes, the decoder's per-window cross K/V, its forward
 *            passes, and the rest (filters, sampling, beams, segments)
 *   total    load + read + tw_transcribe, what a user of the CLI waits for
 * Temperature fallback is
 * off unless --fallback: random weights fail the log-probability test on
 * every window, so fallback would decode each window six times, which a
 * real model on jfk.wav does not.  The language is given ("en", as
 * whisper.cpp's CLI defaults to), so no detection pass runs. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "bench.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper bench --transcribe [--audio FILE (tests/data/jfk.wav)] [--model FILE |\n"
    "                  --size S (base) --layers N --header FILE (tests/data/for-tests-ggml-base.bin)]\n"
    "                  [--runs N (3)] [--threads N (2)] [--max-tokens-per-window N (30)]\n"
    "                  [--fallback] [--json]";

#define MAX_RUNS 64

enum {
  ST_LOAD, ST_READ, ST_MEL, ST_ENCODER, ST_CROSS, ST_DECODER, ST_RULES, ST_TRANSCRIBE, ST_TOTAL,
  N_STAGES
};
static const char *const STAGE_NAMES[N_STAGES] = {"load",    "read",  "mel",
                                                  "encoder", "crosskv", "decoder",
                                                  "rules",   "transcribe", "total"};

typedef struct tx_bench {
  const char *audio, *model, *size, *header;
  long runs, threads, layers, max_tokens;
  int fallback, json;
  char path[64]; /* the synthetic model, removed at the end */
  double audio_s; /* the audio's length */
} tx_bench;

typedef struct tx_figures {
  double stage[N_STAGES]; /* medians, seconds */
  int windows, tokens;    /* tokens: kept in the segments (timestamps included) */
} tx_figures;

/* Tokens sampled: with a budget and no fallback every window samples
 * exactly the budget (EOT is forbidden before it, decoding stops at it);
 * the public API does not count them otherwise (-1). */
static int tokens_decoded(const tx_bench *b, const tx_figures *f) {
  return b->max_tokens > 0 && !b->fallback ? f->windows * (int)b->max_tokens : -1;
}

static int parse(int argc, char **argv, tx_bench *b) {
  *b = (tx_bench){.audio = "tests/data/jfk.wav", .size = "base",
                  .header = "tests/data/for-tests-ggml-base.bin", .runs = 3, .threads = 2,
                  .max_tokens = 30};
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long *num = NULL, lo = 0, hi = 0;
    if (tw_arg_is_help(s)) return TW_ARGS_HELP;
    if (!strcmp(s, "--json")) b->json = 1;
    else if (!strcmp(s, "--fallback")) b->fallback = 1;
    else if (!strcmp(s, "--audio") && v) b->audio = argv[++i];
    else if (!strcmp(s, "--model") && v) b->model = argv[++i];
    else if (!strcmp(s, "--size") && v) b->size = argv[++i];
    else if (!strcmp(s, "--header") && v) b->header = argv[++i];
    else if (!strcmp(s, "--runs") && v) num = &b->runs, lo = 1, hi = MAX_RUNS;
    else if (!strcmp(s, "--threads") && v) num = &b->threads, lo = 1, hi = 1024;
    else if (!strcmp(s, "--layers") && v) num = &b->layers, lo = 1, hi = 64;
    else if (!strcmp(s, "--max-tokens-per-window") && v) num = &b->max_tokens, lo = 0, hi = 224;
    else if (s[0] == '-' && !v && strcmp(s, "--json") && strcmp(s, "--fallback"))
      return tw_usage_error("bench --transcribe", USAGE, "option '%s' needs a value or is unknown", s);
    else return tw_usage_error("bench --transcribe", USAGE, "unknown argument '%s'", s);
    if (num && tw_arg_long(argv[++i], lo, hi, num))
      return tw_usage_error("bench --transcribe", USAGE, "option '%s' wants a number %ld..%ld, not '%s'",
                            s, lo, hi, argv[i]);
  }
  return 0;
}

static int make_model(tx_bench *b) {
  if (b->model) return 0;
  if (access(b->header, R_OK)) {
    fprintf(stderr, "bench --transcribe: %s (the vocabulary for the synthetic model) is not "
            "readable: run from the source tree or give --header or --model\n", b->header);
    return 1;
  }
  snprintf(b->path, sizeof b->path, "/tmp/tilewhisper-bench-XXXXXX");
  int fd = mkstemp(b->path);
  if (fd < 0) {
    b->path[0] = '\0';
    fprintf(stderr, "bench --transcribe: cannot create a temporary model file\n");
    return 1;
  }
  close(fd);
  tw_synth_options so = {.size = b->size, .seed = 1, .header_path = b->header,
                         .n_layers = (int)b->layers};
  if (tw_synth_model_write(&so, b->path)) {
    fprintf(stderr, "bench --transcribe: synthetic %s model: %s\n", b->size, tw_last_error());
    return 1;
  }
  b->model = b->path;
  return 0;
}

typedef struct run_counts {
  int windows;
} run_counts;

static void count_window(void *user, double fraction) {
  (void)fraction;
  ((run_counts *)user)->windows++;
}

/* One run; t[stage] in seconds. */
static int run_once(const tx_bench *b, int beam, double *t, int *windows, int *tokens) {
  tw_model *m = NULL;
  tw_state *st = NULL;
  float *pcm = NULL;
  size_t n = 0;
  tw_transcript tr;
  memset(&tr, 0, sizeof tr);
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.threads = (int)b->threads;
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = (int)b->threads;
  so.max_beams = beam > 1 ? beam : 1;
  run_counts counts = {0};
  tw_transcribe_options o;
  tw_transcribe_options_init(&o);
  o.language = "en";
  o.beam_size = beam;
  o.best_of = 1;
  o.max_tokens_per_window = (int)b->max_tokens;
  if (!b->fallback) o.temperature_increment = 0;
  o.on_progress = count_window;
  o.user = &counts;
  double t0 = tw_cli_now(), t1;
  int rc = tw_model_load_file(b->model, &mo, &m);
  if (!rc) rc = tw_state_create(m, &so, &st);
  t1 = tw_cli_now(), t[ST_LOAD] = t1 - t0, t0 = t1;
  if (!rc) rc = tw_audio_read_file(b->audio, &pcm, &n, NULL);
  t1 = tw_cli_now(), t[ST_READ] = t1 - t0, t0 = t1;
  if (!rc) rc = tw_transcribe(st, pcm, n, &o, &tr);
  t1 = tw_cli_now(), t[ST_TRANSCRIBE] = t1 - t0, t0 = t1;
  t[ST_TOTAL] = t[ST_LOAD] + t[ST_READ] + t[ST_TRANSCRIBE];
  tw_transcribe_stats ts = {0};
  if (!rc) rc = tw_state_transcribe_stats(st, &ts);
  t[ST_MEL] = ts.mel_s, t[ST_ENCODER] = ts.encode_s, t[ST_CROSS] = ts.cross_kv_s;
  t[ST_DECODER] = ts.decode_s;
  t[ST_RULES] = fmax(0.0, ts.total_s - ts.mel_s - ts.encode_s - ts.cross_kv_s - ts.decode_s);
  if (rc) fprintf(stderr, "bench --transcribe: %s: %s\n", b->audio, tw_last_error());
  *windows = counts.windows;
  *tokens = 0;
  for (int i = 0; i < tr.n_segments; i++) *tokens += tr.segments[i].n_tokens;
  tw_transcript_clear(&tr);
  tw_audio_free(pcm);
  tw_state_destroy(st);
  tw_model_destroy(m);
  return rc ? 1 : 0;
}

static int measure(tx_bench *b, int beam, tx_figures *f) {
  static double t[N_STAGES][MAX_RUNS];
  for (int r = 0; r < b->runs; r++) {
    double one[N_STAGES];
    if (run_once(b, beam, one, &f->windows, &f->tokens)) return 1;
    for (int s = 0; s < N_STAGES; s++) t[s][r] = one[s];
  }
  for (int s = 0; s < N_STAGES; s++) f->stage[s] = tw_bench_median(t[s], (int)b->runs);
  return 0;
}

static void report(const tx_bench *b, const tx_figures f[2]) {
  const char *name[2] = {"greedy", "beam5"};
  char esc[2][4200];
  if (b->json) {
    printf("{\"bench\": \"transcribe\", \"audio\": \"%s\", \"audio_s\": %.3f, \"model\": \"%s\", "
           "\"threads\": %ld, \"runs\": %ld, \"max_tokens_per_window\": %ld, \"fallback\": %s, "
           "\"cases\": [",
           tw_json_escape(b->audio, esc[0], sizeof esc[0]), b->audio_s,
           b->path[0] ? b->size : tw_json_escape(b->model, esc[1], sizeof esc[1]), b->threads,
           b->runs, b->max_tokens, b->fallback ? "true" : "false");
    for (int c = 0; c < 2; c++) {
      printf("%s{\"case\": \"%s\", \"windows\": %d, \"tokens_decoded\": %d, \"tokens_kept\": %d",
             c ? ", " : "", name[c], f[c].windows, tokens_decoded(b, &f[c]), f[c].tokens);
      for (int s = 0; s < N_STAGES; s++) printf(", \"%s_s\": %.6f", STAGE_NAMES[s], f[c].stage[s]);
      printf(", \"rtf\": %.5f}", f[c].stage[ST_TOTAL] / b->audio_s);
    }
    printf("]}\n");
    return;
  }
  printf("transcribe %s (%.2f s) with %s, %ld threads, %ld tokens per window, fallback %s, "
         "median of %ld runs\n", b->audio, b->audio_s, b->path[0] ? b->size : b->model,
         b->threads, b->max_tokens, b->fallback ? "on" : "off", b->runs);
  printf("  %-8s %10s %10s\n", "stage", name[0], name[1]);
  for (int s = 0; s < N_STAGES; s++)
    printf("  %-10s %8.3f s %8.3f s\n", STAGE_NAMES[s], f[0].stage[s], f[1].stage[s]);
  printf("  %-10s %10d %10d\n", "windows", f[0].windows, f[1].windows);
  printf("  %-10s %10d %10d   (sampled: windows x budget)\n", "decoded", tokens_decoded(b, &f[0]),
         tokens_decoded(b, &f[1]));
  printf("  %-10s %10d %10d   (in the segments: closed timestamp pairs)\n", "kept", f[0].tokens,
         f[1].tokens);
  printf("  %-10s %10.4f %10.4f   (total / audio length)\n", "RTF", f[0].stage[ST_TOTAL] / b->audio_s,
         f[1].stage[ST_TOTAL] / b->audio_s);
  printf("  mel .. rules: inside transcribe, from tw_state_transcribe_stats (rules = filters, "
         "sampling, beams, segments)\n");
}

int tw_bench_transcribe(int argc, char **argv) {
  tx_bench b;
  int rc = parse(argc, argv, &b);
  if (rc) return rc == TW_ARGS_HELP ? tw_usage_print(USAGE) : rc;
  float *pcm = NULL;
  size_t n = 0;
  if (tw_audio_read_file(b.audio, &pcm, &n, NULL)) {
    fprintf(stderr, "bench --transcribe: %s: %s\n", b.audio, tw_last_error());
    return 1;
  }
  tw_audio_free(pcm);
  b.audio_s = (double)n / TW_SAMPLE_RATE;
  if (b.audio_s <= 0) {
    fprintf(stderr, "bench --transcribe: %s holds no audio\n", b.audio);
    return 1;
  }
  tx_figures f[2];
  memset(f, 0, sizeof f);
  rc = make_model(&b);
  if (!rc) rc = measure(&b, 0, &f[0]);
  if (!rc) rc = measure(&b, 5, &f[1]);
  if (!rc) report(&b, f);
  if (b.path[0]) remove(b.path);
  return rc;
}

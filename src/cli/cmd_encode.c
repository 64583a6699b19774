/* tilewhisper encode -m MODEL AUDIO [--device D] [--threads N] [--fp32]
 *                    [-o OUT.f32] [--json]
 *
 * Loads a model and an audio file, computes the log-mel, runs the encoder on
 * every 30 s window and reports where the time went.  With -o, writes the
 * encoder output as raw float32 [windows][n_ctx][n_state] plus a JSON
 * sidecar OUT.f32.json describing it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "args.h"
#include "cli.h"
#include "cli_audio.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper encode -m MODEL AUDIO [--device cpu|emu|fixed|ref|...] [--threads N] [--fp32]\n"
    "                          [--device-options K=V,...] [-o OUT.f32] [--json]\n"
    "       AUDIO '-' reads standard input";
static const char *const VALUE_OPTIONS[] = {"-m", "--model", "-o", "--output", "--device",
                                            "--device-options", "--threads", NULL};

typedef struct encode_args {
  const char *model, *audio, *device, *device_options, *out;
  char device_spec[1024]; /* device with its options: "emu:large=1" */
  char sidecar[4096]; /* OUT.json */
  long threads;
  int fp32, json;
} encode_args;

static int parse(int argc, char **argv, encode_args *a) {
  *a = (encode_args){.device = "cpu"};
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int has_value = i + 1 < argc;
    if (tw_arg_is_help(s)) return TW_ARGS_HELP;
    if (!strcmp(s, "--json")) a->json = 1;
    else if (!strcmp(s, "--fp32")) a->fp32 = 1;
    else if ((!strcmp(s, "-m") || !strcmp(s, "--model")) && has_value) a->model = argv[++i];
    else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && has_value) a->out = argv[++i];
    else if (!strcmp(s, "--device") && has_value) a->device = argv[++i];
    else if (!strcmp(s, "--device-options") && has_value) a->device_options = argv[++i];
    else if (!strcmp(s, "--threads") && has_value) {
      if (tw_arg_long(argv[++i], 1, 1024, &a->threads))
        return tw_usage_error("encode", USAGE, "--threads wants a number 1..1024, not '%s'", argv[i]);
    } else if (s[0] == '-' && s[1] != '\0') {
      return tw_option_error("encode", USAGE, s, VALUE_OPTIONS, !has_value);
    } else if (!a->audio) {
      a->audio = s;
    } else {
      return tw_usage_error("encode", USAGE, "unexpected argument '%s'", s);
    }
  }
  if (!a->model) return tw_usage_error("encode", USAGE, "-m MODEL is required");
  if (!a->audio) return tw_usage_error("encode", USAGE, "AUDIO is required");
  if (a->device_options)
    snprintf(a->device_spec, sizeof a->device_spec, "%s%c%s", a->device,
             strchr(a->device, ':') ? ',' : ':', a->device_options);
  else
    snprintf(a->device_spec, sizeof a->device_spec, "%s", a->device);
  if (!a->out) return 0;
  const char *inputs[] = {a->model, a->audio, NULL};
  snprintf(a->sidecar, sizeof a->sidecar, "%s.json", a->out);
  int rc = tw_check_output("encode", USAGE, a->out, inputs);
  return rc ? rc : tw_check_output("encode", USAGE, a->sidecar, inputs);
}

/* Everything one run holds, released by session_free. */
typedef struct session {
  const encode_args *args;
  tw_model *model;
  tw_model_info info;
  tw_state *state;
  float *samples;
  size_t n_samples, n_frames, n_windows;
  tw_outfile *out; /* committed only when the whole run succeeded */
  /* seconds per stage; encoder stages summed over windows */
  double load_s, audio_s, mel_s, prepare_s, conv_s, ln_post_s, encoder_s;
  double layer_s[TW_ENCODE_MAX_LAYERS];
  unsigned long long invocations;
  double flops, modeled_s;
} session;

static void session_free(session *s) {
  tw_outfile_abort(s->out);
  tw_state_destroy(s->state);
  tw_audio_free(s->samples);
  tw_model_destroy(s->model);
}

static int fail(const char *what, int rc, const char *msg) {
  fprintf(stderr, "tilewhisper encode: %s: %s: %s\n", what, tw_strerror(rc), msg);
  return 1;
}

/* Model (its weights prepared on the device), state, audio and mel, each
 * timed. */
static int prepare(const encode_args *a, session *s) {
  double t = tw_cli_now();
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = a->device_spec;
  mo.threads = (int)a->threads;
  mo.fp32 = a->fp32;
  int rc = tw_model_load_file(a->model, &mo, &s->model);
  if (rc) return fail("loading the model", rc, tw_last_error());
  tw_model_get_info(s->model, &s->info);
  s->load_s = tw_cli_now() - t, t = tw_cli_now();
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = (int)a->threads;
  if ((rc = tw_state_create(s->model, &so, &s->state)))
    return fail("preparing the encoder", rc, tw_last_error());
  s->prepare_s = tw_cli_now() - t, t = tw_cli_now();
  tw_audio_info info;
  if ((rc = tw_audio_read_file(a->audio, &s->samples, &s->n_samples, &info)))
    return fail("reading the audio", rc, tw_last_error());
  tw_cli_audio_warnings("encode", a->audio, &info);
  s->audio_s = tw_cli_now() - t, t = tw_cli_now();
  if ((rc = tw_state_set_pcm(s->state, s->samples, s->n_samples, &s->n_frames)))
    return fail("computing the log-mel", rc, tw_state_last_error(s->state));
  size_t content = tw_state_content_frames(s->state);
  s->n_windows = (content + TW_N_FRAMES - 1) / TW_N_FRAMES;
  if (s->n_windows == 0) s->n_windows = 1; /* audio shorter than a frame is one window */
  s->mel_s = tw_cli_now() - t;
  if (a->out && (rc = tw_outfile_open(a->out, &s->out)))
    return fail("opening the output", rc, tw_last_error());
  return 0;
}

/* Every 30 s window through the encoder; output appended to s->out. */
static int encode(session *s) {
  const size_t n_out = (size_t)s->info.n_audio_ctx * (size_t)s->info.n_audio_state;
  for (size_t w = 0; w < s->n_windows; w++) {
    const float *out;
    tw_encode_stats t;
    int rc = tw_encode_window(s->state, w * TW_N_FRAMES, &out, &t);
    if (rc) return fail("running the encoder", rc, tw_state_last_error(s->state));
    s->conv_s += t.conv_s, s->ln_post_s += t.ln_post_s, s->encoder_s += t.total_s;
    for (int l = 0; l < t.n_layers; l++) s->layer_s[l] += t.layer_s[l];
    s->invocations += t.invocations;
    s->flops += t.flops;
    s->modeled_s += t.modeled_device_s;
    FILE *f = tw_outfile_stream(s->out);
    if (f && fwrite(out, sizeof *out, n_out, f) != n_out) {
      char msg[4200];
      snprintf(msg, sizeof msg, "%s: %s", s->args->out, strerror(errno));
      return fail("writing the output", TW_EIO, msg);
    }
  }
  return 0;
}

static void write_sidecar(const encode_args *a, const session *s, FILE *f) {
  char esc[2048];
  fprintf(f, "{\"shape\": [%zu, %d, %d], \"dtype\": \"float32\", \"layout\": \"row-major\", ",
          s->n_windows, s->info.n_audio_ctx, s->info.n_audio_state);
  fprintf(f, "\"model\": \"%s\", ", tw_json_escape(a->model, esc, sizeof esc));
  fprintf(f, "\"audio\": \"%s\", ", tw_json_escape(a->audio, esc, sizeof esc));
  fprintf(f, "\"window\": {\"frames\": %d, \"seconds\": 30, \"count\": %zu}, ",
          TW_N_FRAMES, s->n_windows);
  fprintf(f, "\"device\": \"%s\", \"fp32\": %s}\n", s->info.encoder_device,
          a->fp32 ? "true" : "false");
}

/* The sidecar is written before either file is published, so a failure
 * leaves neither; the data goes first, the sidecar describing it last. */
static int publish_outputs(const encode_args *a, session *s) {
  tw_outfile *sc = NULL;
  int rc = tw_outfile_open(a->sidecar, &sc);
  if (rc) return fail("writing the sidecar", rc, tw_last_error());
  write_sidecar(a, s, tw_outfile_stream(sc));
  tw_outfile *data = s->out;
  s->out = NULL;
  if ((rc = tw_outfile_commit(data))) {
    tw_outfile_abort(sc);
    return fail("writing the output", rc, tw_last_error());
  }
  if ((rc = tw_outfile_commit(sc))) return fail("writing the sidecar", rc, tw_last_error());
  return 0;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

static void report(const encode_args *a, const session *s, double wall_s) {
  const double audio_len = (double)s->n_samples / TW_SAMPLE_RATE;
  const double gflops = s->encoder_s > 0 ? s->flops / s->encoder_s * 1e-9 : 0.0;
  const double rtf = audio_len > 0 ? (s->audio_s + s->mel_s + s->encoder_s) / audio_len : 0.0;
  const int n_layers = s->info.n_audio_layer < TW_ENCODE_MAX_LAYERS ? s->info.n_audio_layer
                                                                    : TW_ENCODE_MAX_LAYERS;
  char esc[2048];
  if (a->json) {
    printf("{\"model\": \"%s\", \"device\": \"%s\", \"threads\": %d, \"fp32\": %s, "
           "\"windows\": %zu, \"audio_s\": %.3f, \"wall_s\": %.6f, \"encoder_s\": %.6f, "
           "\"gflops\": %.3f, \"rtf\": %.5f, \"invocations\": %llu, \"modeled_device_s\": %.6f, "
           "\"peak_rss_mb\": %.1f, "
           "\"stages\": {\"load\": %.6f, \"audio\": %.6f, \"mel\": %.6f, \"prepare\": %.6f, "
           "\"conv\": %.6f",
           tw_json_escape(a->model, esc, sizeof esc), s->info.encoder_device, tw_state_threads(s->state), a->fp32 ? "true" : "false", s->n_windows, audio_len, wall_s,
           s->encoder_s, gflops, rtf, s->invocations, s->modeled_s, peak_rss_mb(), s->load_s,
           s->audio_s, s->mel_s, s->prepare_s, s->conv_s);
    for (int l = 0; l < n_layers; l++) printf(", \"layer.%d\": %.6f", l, s->layer_s[l]);
    printf(", \"ln_post\": %.6f, \"encoder\": %.6f, \"total\": %.6f}}\n", s->ln_post_s,
           s->encoder_s, wall_s);
    return;
  }
  printf("encode %s (%.2f s of audio, %zu window%s) on %s, %d threads, %s\n", a->audio, audio_len,
         s->n_windows, s->n_windows == 1 ? "" : "s", s->info.encoder_device, tw_state_threads(s->state), a->fp32 ? "fp32" : "bf16");
  printf("  load        %8.4f s\n  audio       %8.4f s\n  mel         %8.4f s\n"
         "  prepare     %8.4f s\n  conv        %8.4f s\n",
         s->load_s, s->audio_s, s->mel_s, s->prepare_s, s->conv_s);
  for (int l = 0; l < n_layers; l++) printf("  layer %-5d %8.4f s\n", l, s->layer_s[l]);
  printf("  ln_post     %8.4f s\n  encoder     %8.4f s (%.2f GFLOP/s, %llu invocations)\n"
         "  total       %8.4f s, real-time factor %.4f (audio + mel + encoder / audio length)\n"
         "  peak RSS    %.1f MB\n",
         s->ln_post_s, s->encoder_s, gflops, s->invocations, wall_s, rtf, peak_rss_mb());
  if (s->modeled_s > 0) printf("  modeled     %8.4f s on the emulated device\n", s->modeled_s);
  if (a->out) printf("  output      %s (+ %s.json)\n", a->out, a->out);
}

int tw_cli_encode(int argc, char **argv) {
  encode_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc == TW_ARGS_HELP ? tw_usage_print(USAGE) : rc;
  session s;
  memset(&s, 0, sizeof s);
  s.args = &a;
  const double start = tw_cli_now();
  rc = prepare(&a, &s);
  if (!rc) rc = encode(&s);
  if (!rc && a.out) rc = publish_outputs(&a, &s);
  if (!rc) report(&a, &s, tw_cli_now() - start);
  session_free(&s);
  return rc;
}

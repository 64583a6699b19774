/* tilewhisper logits -m MODEL AUDIO --tokens 50258,50259,50359,50363
 *                    [--fp32] [--device D] [--threads N] [-o LOGITS.f32]
 *
 * The checking command other implementations are compared against: the
 * first 30 s window's log-mel prepared as OpenAI's transcribe() feeds it
 * (content frames, padded with 0.0 to 3000), the encoder, every layer's
 * cross K/V, then the tokens decoded as one prefill.  Writes the n_vocab
 * float32 logits of the last position (raw little-endian) and prints the
 * five largest with their token text. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "cli_audio.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper logits -m MODEL AUDIO --tokens ID,ID,... [--fp32] [--device D] [--threads N]\n"
    "                          [-o LOGITS.f32]";
static const char *const VALUE_OPTIONS[] = {"-m", "--model", "-o", "--output", "--device",
                                            "--tokens", "--threads", NULL};

#define MAX_TOKENS 448

typedef struct logits_args {
  const char *model, *audio, *device, *out;
  long threads;
  int fp32, n_tokens;
  int32_t tokens[MAX_TOKENS];
} logits_args;

static int parse_tokens(const char *s, logits_args *a) {
  char buf[8192];
  if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf) return -1;
  a->n_tokens = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long v;
    if (a->n_tokens == MAX_TOKENS || tw_arg_long(tok, 0, 1L << 30, &v)) return -1;
    a->tokens[a->n_tokens++] = (int32_t)v;
  }
  return a->n_tokens > 0 ? 0 : -1;
}

static int parse(int argc, char **argv, logits_args *a) {
  memset(a, 0, sizeof *a);
  a->device = "cpu";
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int has_value = i + 1 < argc;
    if (tw_arg_is_help(s)) return TW_ARGS_HELP;
    if (!strcmp(s, "--fp32")) a->fp32 = 1;
    else if ((!strcmp(s, "-m") || !strcmp(s, "--model")) && has_value) a->model = argv[++i];
    else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && has_value) a->out = argv[++i];
    else if (!strcmp(s, "--device") && has_value) a->device = argv[++i];
    else if (!strcmp(s, "--tokens") && has_value) {
      if (parse_tokens(argv[++i], a))
        return tw_usage_error("logits", USAGE, "--tokens wants 1..%d comma-separated ids, not '%s'",
                              MAX_TOKENS, argv[i]);
    } else if (!strcmp(s, "--threads") && has_value) {
      if (tw_arg_long(argv[++i], 1, 1024, &a->threads))
        return tw_usage_error("logits", USAGE, "--threads wants a number 1..1024, not '%s'", argv[i]);
    } else if (s[0] == '-' && s[1] != '\0') {
      return tw_option_error("logits", USAGE, s, VALUE_OPTIONS, !has_value);
    } else if (!a->audio) {
      a->audio = s;
    } else {
      return tw_usage_error("logits", USAGE, "unexpected argument '%s'", s);
    }
  }
  if (!a->model) return tw_usage_error("logits", USAGE, "-m MODEL is required");
  if (!a->audio) return tw_usage_error("logits", USAGE, "AUDIO is required");
  if (!a->n_tokens) return tw_usage_error("logits", USAGE, "--tokens is required");
  if (!a->out) return 0;
  const char *inputs[] = {a->model, a->audio, NULL};
  return tw_check_output("logits", USAGE, a->out, inputs);
}

typedef struct session {
  tw_model *model;
  tw_model_info info;
  tw_state *state;
  float *samples, *logits;
  size_t n_samples;
} session;

static void session_free(session *s) {
  tw_state_destroy(s->state);
  tw_model_destroy(s->model);
  tw_audio_free(s->samples);
  free(s->logits);
}

static int fail(const char *what, int rc, const char *msg) {
  fprintf(stderr, "tilewhisper logits: %s: %s: %s\n", what, tw_strerror(rc), msg);
  return 1;
}

/* Model, state, audio, the first window as OpenAI feeds it (content frames,
 * 0.0 padding: tw_decode_set_window), then one prefill of every token. */
static int run(const logits_args *a, session *s) {
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = a->device;
  mo.threads = (int)a->threads;
  mo.fp32 = a->fp32;
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = (int)a->threads;
  so.max_beams = 1;
  int rc = tw_model_load_file(a->model, &mo, &s->model);
  if (rc) return fail("loading the model", rc, tw_last_error());
  tw_model_get_info(s->model, &s->info);
  if ((rc = tw_state_create(s->model, &so, &s->state)))
    return fail("preparing the state", rc, tw_last_error());
  tw_audio_info info;
  if ((rc = tw_audio_read_file(a->audio, &s->samples, &s->n_samples, &info)))
    return fail("reading the audio", rc, tw_last_error());
  tw_cli_audio_warnings("logits", a->audio, &info);
  if (!(s->logits = malloc((size_t)s->info.n_vocab * sizeof *s->logits)))
    return fail("preparing the decoder", TW_ENOMEM, "logits");
  if ((rc = tw_state_set_pcm(s->state, s->samples, s->n_samples, NULL)) ||
      (rc = tw_decode_set_window(s->state, 0)) ||
      (rc = tw_decode(s->state, 1, a->n_tokens, a->tokens, 0, a->n_tokens - 1, s->logits)))
    return fail("running the model", rc, tw_state_last_error(s->state));
  return 0;
}

/* The token's bytes (UTF-8 passed through, ASCII control bytes as \xNN);
 * special tokens by name. */
static void token_text(const tw_model *m, int id, char *buf, size_t cap) {
  const char *bytes = NULL;
  size_t n = 0, k = 0;
  if (tw_model_token_bytes(m, id, &bytes, &n)) {
    snprintf(buf, cap, "[%d]", id);
    return;
  }
  for (size_t i = 0; i < n && k + 5 < cap; i++) {
    unsigned char c = (unsigned char)bytes[i];
    k += (size_t)snprintf(buf + k, cap - k, c >= 0x80 || isprint(c) ? "%c" : "\\x%02x", c);
  }
  buf[k] = '\0';
}

static void print_top5(const logits_args *a, const session *s) {
  const int V = s->info.n_vocab;
  int top[5], n_top = 0; /* ids of the largest logits, in descending order */
  for (int id = 0; id < V; id++) {
    if (n_top == 5 && !(s->logits[id] > s->logits[top[4]])) continue;
    int at = n_top < 5 ? n_top++ : 4; /* when full, the smallest drops out */
    while (at > 0 && s->logits[top[at - 1]] < s->logits[id]) {
      top[at] = top[at - 1];
      at--;
    }
    top[at] = id;
  }
  printf("logits of position %d (%d tokens, %s, %s) over %d ids; top 5:\n", a->n_tokens - 1,
         a->n_tokens, s->info.decoder_device, a->fp32 ? "fp32" : "bf16", V);
  for (int i = 0; i < n_top; i++) {
    char text[256];
    token_text(s->model, top[i], text, sizeof text);
    printf("%6d  %10.5f  %s\n", top[i], s->logits[top[i]], text);
  }
}

static int write_logits(const char *path, const float *logits, size_t n) {
  tw_outfile *f = NULL;
  int rc = tw_outfile_open(path, &f);
  if (rc) return fail("writing the logits", rc, tw_last_error());
  /* raw float32 in the host's byte order: little-endian on x86-64 and arm64 */
  if (fwrite(logits, sizeof *logits, n, tw_outfile_stream(f)) != n) {
    tw_outfile_abort(f);
    return fail("writing the logits", TW_EIO, path);
  }
  rc = tw_outfile_commit(f);
  return rc ? fail("writing the logits", rc, tw_last_error()) : 0;
}

int tw_cli_logits(int argc, char **argv) {
  logits_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc == TW_ARGS_HELP ? tw_usage_print(USAGE) : rc;
  session s;
  memset(&s, 0, sizeof s);
  rc = run(&a, &s);
  if (!rc && a.out) rc = write_logits(a.out, s.logits, (size_t)s.info.n_vocab);
  if (!rc) print_top5(&a, &s);
  session_free(&s);
  return rc;
}

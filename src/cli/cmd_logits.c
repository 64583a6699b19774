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

#include "cli/args.h"
#include "cli/cli.h"
#include "core/mem.h"
#include "whisper/audio.h"
#include "whisper/decoder.h"
#include "whisper/encoder.h"
#include "whisper/mel.h"
#include "whisper/model.h"

static const char *USAGE =
    "tilewhisper logits -m MODEL AUDIO --tokens ID,ID,... [--fp32] [--device D] [--threads N]\n"
    "                          [-o LOGITS.f32]";

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
        return tw_usage_error("logits", USAGE, "--threads wants a number 1..1024, not '%s'",
                              argv[i]);
    } else if (s[0] == '-' && s[1] != '\0') {
      return tw_usage_error("logits", USAGE, "unknown or incomplete option '%s'", s);
    } else if (!a->audio) {
      a->audio = s;
    } else {
      return tw_usage_error("logits", USAGE, "unexpected argument '%s'", s);
    }
  }
  if (!a->model) return tw_usage_error("logits", USAGE, "-m MODEL is required");
  if (!a->audio) return tw_usage_error("logits", USAGE, "AUDIO is required");
  if (!a->n_tokens) return tw_usage_error("logits", USAGE, "--tokens is required");
  return 0;
}

typedef struct session {
  tw_whisper_model *model;
  tw_context *ctx;
  tw_encoder *enc;
  tw_decoder *dec;
  tw_decoder_state *st;
  tw_mel *melctx;
  float *samples, *mel, *window, *logits;
  size_t n_samples, n_frames;
} session;

static void session_free(session *s) {
  tw_decoder_state_destroy(s->st);
  tw_decoder_destroy(s->dec);
  tw_encoder_destroy(s->enc);
  tw_context_destroy(s->ctx);
  tw_mel_destroy(s->melctx);
  tw_free(s->samples), tw_free(s->mel), tw_free(s->window), tw_free(s->logits);
  tw_whisper_model_free(s->model);
}

static int fail(const char *what, int rc, const char *msg) {
  fprintf(stderr, "tilewhisper logits: %s: %s: %s\n", what, tw_strerror(rc), msg);
  return 1;
}

/* Model, context, the first window's mel (OpenAI's padding), the encoder. */
static int load(const logits_args *a, session *s) {
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load(a->model, &s->model, &err);
  if (rc) return fail("loading the model", rc, err.msg);
  tw_context_options co;
  tw_context_options_init(&co);
  co.device = a->device;
  co.threads = (int)a->threads;
  if ((rc = tw_context_create(&co, &s->ctx)))
    return fail("opening the device", rc, tw_last_error());
  const int n_mel = s->model->n_mel;
  if ((rc = tw_audio_load(a->audio, &s->samples, &s->n_samples, &err)))
    return fail("reading the audio", rc, err.msg);
  s->window = tw_malloc_aligned((size_t)n_mel * TW_MEL_WINDOW_FRAMES * sizeof(float));
  if (!s->window) return fail("computing the log-mel", TW_ENOMEM, "window");
  if ((rc = tw_mel_create(s->model->mel_filters, n_mel, tw_context_threads(s->ctx), &s->melctx,
                          &err)) ||
      (rc = tw_mel_compute(s->melctx, s->samples, s->n_samples, &s->mel, &s->n_frames, &err)) ||
      (rc = tw_mel_segment(s->mel, n_mel, s->n_frames, 0, s->window, &err)))
    return fail("computing the log-mel", rc, err.msg);
  tw_encoder_options eo;
  tw_encoder_options_init(&eo);
  eo.fp32 = a->fp32;
  if ((rc = tw_encoder_create(s->model, s->ctx, &eo, &s->enc, &err)))
    return fail("preparing the encoder", rc, err.msg);
  if (tw_encoder_n_frames(s->enc) != TW_MEL_WINDOW_FRAMES)
    return fail("preparing the encoder", TW_ESHAPE, "model window is not 3000 frames");
  return 0;
}

/* Encoder, cross K/V, one prefill of every token. */
static int run(const logits_args *a, session *s) {
  tw_errbuf err = {{0}};
  tw_decoder_options dopt;
  tw_decoder_options_init(&dopt);
  dopt.fp32 = a->fp32;
  int rc = tw_decoder_create(s->model, s->ctx, &dopt, &s->dec, &err);
  if (!rc) rc = tw_decoder_state_create(s->dec, s->ctx, 1, 0, &s->st, &err);
  if (rc) return fail("preparing the decoder", rc, err.msg);
  if (!(s->logits = tw_malloc_aligned((size_t)tw_decoder_n_vocab(s->dec) * sizeof(float))))
    return fail("preparing the decoder", TW_ENOMEM, "logits");
  float *enc_out;
  if ((rc = tw_encoder_run(s->enc, s->window, &enc_out, NULL)))
    return fail("running the encoder", rc, tw_encoder_last_error(s->enc));
  if ((rc = tw_decoder_set_audio(s->st, enc_out, tw_encoder_n_ctx(s->enc))) ||
      (rc = tw_decoder_decode(s->st, 1, a->n_tokens, a->tokens, 0, a->n_tokens - 1, s->logits)))
    return fail("running the decoder", rc, tw_decoder_last_error(s->st));
  return 0;
}

/* The token's bytes from the model's vocabulary (UTF-8 passed through,
 * ASCII control bytes as \xNN); ids past the vocabulary (the special
 * tokens) as [id]. */
static void token_text(const tw_whisper_model *m, int id, char *buf, size_t cap) {
  if (id >= m->n_vocab_file) {
    snprintf(buf, cap, "[%d]", id);
    return;
  }
  size_t k = 0;
  for (uint32_t i = 0; i < m->token_lens[id] && k + 5 < cap; i++) {
    unsigned char c = (unsigned char)m->token_bytes[id][i];
    k += (size_t)snprintf(buf + k, cap - k, c >= 0x80 || isprint(c) ? "%c" : "\\x%02x", c);
  }
  buf[k] = '\0';
}

static void print_top5(const logits_args *a, const session *s) {
  const int V = tw_decoder_n_vocab(s->dec);
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
         a->n_tokens, tw_context_device_name(s->ctx), a->fp32 ? "fp32" : "bf16", V);
  for (int i = 0; i < n_top; i++) {
    char text[256];
    token_text(s->model, top[i], text, sizeof text);
    printf("%6d  %10.5f  %s\n", top[i], s->logits[top[i]], text);
  }
}

static int write_logits(const char *path, const float *logits, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return fail("writing the logits", TW_EIO, path);
  /* raw float32 in the host's byte order: little-endian on x86-64 and arm64 */
  int bad = fwrite(logits, sizeof *logits, n, f) != n;
  bad |= fclose(f) != 0;
  return bad ? fail("writing the logits", TW_EIO, path) : 0;
}

int tw_cli_logits(int argc, char **argv) {
  logits_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc;
  session s;
  memset(&s, 0, sizeof s);
  rc = load(&a, &s);
  if (!rc) rc = run(&a, &s);
  if (!rc && a.out) rc = write_logits(a.out, s.logits, (size_t)tw_decoder_n_vocab(s.dec));
  if (!rc) print_top5(&a, &s);
  session_free(&s);
  return rc;
}

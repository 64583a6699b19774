/* tilewhisper info MODEL [--json]: hyper-parameters and tensor table. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "whisper/model.h"

static const char *USAGE = "tilewhisper info MODEL [--json]";

static const char *type_name(tw_tensor_type t) { return t == TW_TENSOR_F16 ? "f16" : "f32"; }

static int encoder_complete(const tw_whisper_model *m) {
  if (!m->enc_pos_emb || !m->conv1_w || !m->conv1_b || !m->conv2_w || !m->conv2_b ||
      !m->enc_ln_post_w || !m->enc_ln_post_b)
    return 0;
  for (int l = 0; l < m->hp.n_audio_layer; l++)
    if (!m->enc_layers[l].attn_q_w || !m->enc_layers[l].mlp_2_b) return 0;
  return 1;
}

#define HPARAMS(X)                                                                           \
  X(n_vocab) X(n_audio_ctx) X(n_audio_state) X(n_audio_head) X(n_audio_layer) X(n_text_ctx) \
  X(n_text_state) X(n_text_head) X(n_text_layer) X(n_mels) X(ftype)

static void print_json(const tw_whisper_model *m) {
  printf("{\"path\": \"");
  for (const char *c = m->path; *c; c++) {
    if (*c == '"' || *c == '\\') putchar('\\');
    if ((unsigned char)*c >= 0x20) putchar(*c);
  }
  printf("\", \"hparams\": {");
  const char *sep = "";
#define PRINT_HP(name) printf("%s\"" #name "\": %d", sep, (int)m->hp.name), sep = ", ";
  HPARAMS(PRINT_HP)
#undef PRINT_HP
  printf("}, \"mel_filters\": [%d, %d], \"vocab_tokens\": %d, \"encoder_complete\": %s, "
         "\"tensors\": [",
         m->n_mel, m->n_fft_bins, m->n_vocab_file, encoder_complete(m) ? "true" : "false");
  for (size_t i = 0; i < m->n_tensors; i++) {
    const tw_tensor *t = &m->tensors[i];
    printf("%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"ne\": [", i ? "," : "", t->name,
           type_name(t->type));
    for (int d = 0; d < t->n_dims; d++) printf("%s%lld", d ? ", " : "", (long long)t->ne[d]);
    printf("], \"offset\": %zu}", t->file_offset);
  }
  printf("%s]}\n", m->n_tensors ? "\n" : "");
}

static void print_text(const tw_whisper_model *m) {
  printf("model: %s\n", m->path);
#define PRINT_HP(name) printf("  %-14s %d\n", #name, (int)m->hp.name);
  HPARAMS(PRINT_HP)
#undef PRINT_HP
  printf("mel filters: %d x %d\nvocab: %d tokens in file\n", m->n_mel, m->n_fft_bins,
         m->n_vocab_file);
  printf("encoder: %s\ntensors: %zu\n", encoder_complete(m) ? "complete" : "incomplete",
         m->n_tensors);
  for (size_t i = 0; i < m->n_tensors; i++) {
    const tw_tensor *t = &m->tensors[i];
    char shape[96];
    int k = snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t->n_dims; d++)
      k += snprintf(shape + k, sizeof shape - (size_t)k, d ? ", %lld" : "%lld", (long long)t->ne[d]);
    snprintf(shape + k, sizeof shape - (size_t)k, "]");
    printf("  %-42s %s %-22s offset %zu\n", t->name, type_name(t->type), shape, t->file_offset);
  }
}

int tw_cli_info(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (tw_arg_is_help(argv[i])) {
      return tw_usage_print(USAGE);
    } else if (argv[i][0] == '-') {
      return tw_option_error("info", USAGE, argv[i], NULL, 0);
    } else if (path) {
      return tw_usage_error("info", USAGE, "unexpected argument '%s' (one MODEL)", argv[i]);
    } else {
      path = argv[i];
    }
  }
  if (!path) return tw_usage_error("info", USAGE, "MODEL is required");
  tw_whisper_model *m = NULL;
  tw_errbuf err;
  if (tw_whisper_model_load_ex(path, TW_LOAD_HEADER_ONLY, &m, &err) != 0) {
    fprintf(stderr, "tilewhisper info: %s\n", err.msg);
    return 1;
  }
  if (json)
    print_json(m);
  else
    print_text(m);
  tw_whisper_model_free(m);
  return 0;
}

/* tilewhisper info MODEL [--json]: hyper-parameters and tensor table. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE = "tilewhisper info MODEL [--json]";

#define HPARAMS(X)                                                                           \
  X(n_vocab) X(n_audio_ctx) X(n_audio_state) X(n_audio_head) X(n_audio_layer) X(n_text_ctx) \
  X(n_text_state) X(n_text_head) X(n_text_layer) X(n_mels) X(ftype)

static void print_json(const char *path, const tw_model *m, const tw_model_info *in) {
  printf("{\"path\": \"");
  for (const char *c = path; *c; c++) {
    if (*c == '"' || *c == '\\') putchar('\\');
    if ((unsigned char)*c >= 0x20) putchar(*c);
  }
  printf("\", \"hparams\": {");
  const char *sep = "";
#define PRINT_HP(name) printf("%s\"" #name "\": %d", sep, in->name), sep = ", ";
  HPARAMS(PRINT_HP)
#undef PRINT_HP
  printf("}, \"size\": \"%s\", \"multilingual\": %s, \"mel_filters\": [%d, 201], "
         "\"vocab_tokens\": %d, \"vocab_damaged\": %s, \"encoder_complete\": %s, "
         "\"decoder_complete\": %s, "
         "\"tensors\": [",
         in->size, in->multilingual ? "true" : "false", in->n_mels, in->n_vocab_file,
         in->vocab_damaged ? "true" : "false", in->has_encoder ? "true" : "false", in->has_decoder ? "true" : "false");
  for (size_t i = 0; i < in->n_tensors; i++) {
    tw_tensor_info t;
    if (tw_model_tensor(m, i, &t)) break;
    printf("%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"ne\": [", i ? "," : "", t.name, t.type);
    for (int d = 0; d < t.n_dims; d++) printf("%s%lld", d ? ", " : "", (long long)t.ne[d]);
    printf("], \"offset\": %zu}", t.file_offset);
  }
  printf("%s]}\n", in->n_tensors ? "\n" : "");
}

static void print_text(const char *path, const tw_model *m, const tw_model_info *in) {
  printf("model: %s\n", path);
#define PRINT_HP(name) printf("  %-14s %d\n", #name, in->name);
  HPARAMS(PRINT_HP)
#undef PRINT_HP
  printf("size: %s%s\nmel filters: %d x 201\nvocab: %d tokens in file\n", in->size,
         in->multilingual ? " (multilingual)" : " (English-only)", in->n_mels, in->n_vocab_file);
  printf("encoder: %s\ndecoder: %s\ntensors: %zu\n", in->has_encoder ? "complete" : "incomplete",
         in->has_decoder ? "complete" : "incomplete", in->n_tensors);
  if (in->vocab_damaged)
    printf("warning: %d vocabulary tokens hold U+FFFD where byte tokens belong (an early "
           "converter's damage): non-English text will come out wrong\n",
           in->vocab_fffd_tokens);
  for (size_t i = 0; i < in->n_tensors; i++) {
    tw_tensor_info t;
    if (tw_model_tensor(m, i, &t)) break;
    char shape[96];
    int k = snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t.n_dims; d++)
      k += snprintf(shape + k, sizeof shape - (size_t)k, d ? ", %lld" : "%lld", (long long)t.ne[d]);
    snprintf(shape + k, sizeof shape - (size_t)k, "]");
    printf("  %-42s %-4s %-22s offset %zu\n", t.name, t.type, shape, t.file_offset);
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
  tw_model *m = NULL;
  tw_model_options o;
  tw_model_options_init(&o);
  o.inspect_only = 1;
  tw_model_info info;
  if (tw_model_load_file(path, &o, &m) != 0 || tw_model_get_info(m, &info) != 0) {
    fprintf(stderr, "tilewhisper info: %s\n", tw_last_error());
    tw_model_destroy(m);
    return 1;
  }
  if (json)
    print_json(path, m, &info);
  else
    print_text(path, m, &info);
  tw_model_destroy(m);
  return 0;
}

/* tilewhisper detect-language -m MODEL AUDIO [--top N] [--device D]
 *                             [--threads N] [--fp32] [--json]
 *
 * OpenAI's detect_language on the first 30 s (one decoder pass from
 * <|startoftranscript|>, softmax over the language tokens): the N most
 * likely languages with their probabilities.  An English-only model has no
 * language tokens; OpenAI's transcribe() then takes "en" without detecting,
 * and so does this command: it prints "en 1.000000 english" and says why on
 * standard error (exit 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "cli_audio.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper detect-language -m MODEL AUDIO [--top N (5)] [--device D] [--threads N] [--fp32]\n"
    "                          [--json]\n"
    "       English-only models print \"en 1.000000\" (as OpenAI: no detection)";
static const char *const VALUE_OPTIONS[] = {"-m", "--model", "--top", "--device", "-t", "--threads",
                                            NULL};

typedef struct detect_args {
  const char *model, *audio, *device;
  long top, threads;
  int fp32, json;
} detect_args;

static int parse(int argc, char **argv, detect_args *a) {
  *a = (detect_args){.device = "cpu", .top = 5};
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int has_value = i + 1 < argc;
    if (tw_arg_is_help(s)) return TW_ARGS_HELP;
    if (!strcmp(s, "--json")) a->json = 1;
    else if (!strcmp(s, "--fp32")) a->fp32 = 1;
    else if ((!strcmp(s, "-m") || !strcmp(s, "--model")) && has_value) a->model = argv[++i];
    else if (!strcmp(s, "--device") && has_value) a->device = argv[++i];
    else if (!strcmp(s, "--top") && has_value) {
      if (tw_arg_long(argv[++i], 1, TW_N_LANGUAGES, &a->top))
        return tw_usage_error("detect-language", USAGE, "--top wants a number 1..%d, not '%s'",
                              TW_N_LANGUAGES, argv[i]);
    } else if ((!strcmp(s, "--threads") || !strcmp(s, "-t")) && has_value) {
      if (tw_arg_long(argv[++i], 1, 1024, &a->threads))
        return tw_usage_error("detect-language", USAGE, "--threads wants a number 1..1024, not '%s'",
                              argv[i]);
    } else if (s[0] == '-' && s[1] != '\0') {
      return tw_option_error("detect-language", USAGE, s, VALUE_OPTIONS, !has_value);
    } else if (!a->audio) {
      a->audio = s;
    } else {
      return tw_usage_error("detect-language", USAGE, "unexpected argument '%s'", s);
    }
  }
  if (!a->model) return tw_usage_error("detect-language", USAGE, "-m MODEL is required");
  if (!a->audio) return tw_usage_error("detect-language", USAGE, "AUDIO is required");
  return 0;
}

static int fail(const char *what, const char *why) {
  fprintf(stderr, "tilewhisper detect-language: %s: %s\n", what, why);
  return 1;
}

static void print_result(const detect_args *a, const double *probs, const int *order, int n) {
  char esc[4200];
  if (a->json) printf("{\"file\": \"%s\", \"language\": \"%s\", \"probabilities\": {",
                      tw_json_escape(a->audio, esc, sizeof esc), tw_language_code(order[0]));
  for (int i = 0; i < n; i++) {
    const int l = order[i];
    if (a->json) printf("%s\"%s\": %.6f", i ? ", " : "", tw_language_code(l), probs[l]);
    else printf("%-4s %.6f  %s\n", tw_language_code(l), probs[l], tw_language_name(l));
  }
  if (a->json) printf("}}\n");
}

/* Languages by falling probability (ties by token order, as argmax). */
static void rank(const double *probs, int *order) {
  for (int i = 0; i < TW_N_LANGUAGES; i++) {
    int at = i;
    while (at > 0 && probs[order[at - 1]] < probs[i]) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = i;
  }
}

static int detect(const detect_args *a, tw_model *m, int n_languages, tw_state **st) {
  char why[4200];
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = (int)a->threads;
  so.max_beams = 1;
  float *pcm = NULL;
  size_t n = 0;
  tw_audio_info info;
  if (tw_state_create(m, &so, st)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    return fail(a->model, why);
  }
  if (tw_audio_read_file(a->audio, &pcm, &n, &info)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    return fail(a->audio, why);
  }
  tw_cli_audio_warnings("detect-language", a->audio, &info);
  double probs[TW_N_LANGUAGES] = {0};
  int best = -1, order[TW_N_LANGUAGES];
  int rc = tw_state_set_pcm(*st, pcm, n, NULL);
  if (!rc) rc = tw_detect_language(*st, probs, &best);
  tw_audio_free(pcm);
  if (rc) {
    snprintf(why, sizeof why, "%s", tw_state_last_error(*st));
    return fail(a->audio, why);
  }
  rank(probs, order);
  print_result(a, probs, order, a->top < n_languages ? (int)a->top : n_languages);
  return 0;
}

int tw_cli_detect_language(int argc, char **argv) {
  detect_args a;
  int rc = parse(argc, argv, &a);
  if (rc) return rc == TW_ARGS_HELP ? tw_usage_print(USAGE) : rc;
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = a.device;
  mo.threads = (int)a.threads;
  mo.fp32 = a.fp32;
  tw_model *m = NULL;
  tw_state *st = NULL;
  tw_model_info info;
  char why[4200];
  if (tw_model_load_file(a.model, &mo, &m) || tw_model_get_info(m, &info)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    rc = fail(a.model, why);
  } else if (!info.multilingual) {
    fprintf(stderr, "tilewhisper detect-language: %s is an English-only model: the language is "
            "English without detection (as OpenAI's transcribe())\n", a.model);
    const double probs[TW_N_LANGUAGES] = {1.0};
    const int order[1] = {0};
    print_result(&a, probs, order, 1);
  } else {
    rc = detect(&a, m, info.n_languages, &st);
  }
  tw_state_destroy(st);
  tw_model_destroy(m);
  return rc;
}

/* tilewhisper synth-model --size S [--layers N] [--seed S] [--header FILE]
 *                         [--type f16|f32|q4_0|q4_1|q5_0|q5_1|q8_0] [--f32] -o FILE */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper synth-model --size SIZE [--layers N] [--seed S] [--header FILE]\n"
    "                               [--type f16|f32|q4_0|q4_1|q5_0|q5_1|q8_0] -o FILE\n"
    "  SIZE: tiny, tiny.en, base, base.en, small, small.en, medium, medium.en,\n"
    "        large-v1, large-v2, large-v3, large-v3-turbo\n"
    "  --layers N  N encoder and N decoder blocks (the size's own otherwise)\n"
    "  --type      storage of the weight matrices (default f16; --f32 = --type f32)";
static const char *const VALUE_OPTIONS[] = {"--size", "--header", "-o", "--output", "--layers",
                                            "--seed", "--type", NULL};

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || v > max) return -1;
  *out = v;
  return 0;
}

/* --type: f16/f32 choose the float storage, the others quantize as
 * whisper.cpp's quantize tool does. */
static int parse_type(const char *v, tw_synth_options *o) {
  static const struct {
    const char *name;
    int32_t quant;
  } types[] = {{"q4_0", TW_QUANT_Q4_0}, {"q4_1", TW_QUANT_Q4_1}, {"q5_0", TW_QUANT_Q5_0},
               {"q5_1", TW_QUANT_Q5_1}, {"q8_0", TW_QUANT_Q8_0}};
  o->quant = 0;
  o->all_f32 = !strcmp(v, "f32");
  if (o->all_f32 || !strcmp(v, "f16")) return 0;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(v, types[i].name)) {
      o->quant = types[i].quant;
      return 0;
    }
  return -1;
}

/* Applies option argv[i] (and its value argv[i + 1]); returns the number of
 * arguments used, or -2 after printing why it is refused. */
static int parse_option(int argc, char **argv, int i, tw_synth_options *o, const char **out) {
  const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
  unsigned long long u;
  if (!strcmp(a, "--f32")) {
    o->all_f32 = 1;
    o->quant = 0;
    return 1;
  }
  if (!v) return -tw_option_error("synth-model", USAGE, a, VALUE_OPTIONS, 1);
  if (!strcmp(a, "--size")) {
    o->size = v;
  } else if (!strcmp(a, "--header")) {
    o->header_path = v;
  } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
    *out = v;
  } else if (!strcmp(a, "--layers")) {
    if (parse_u64(v, 256, &u) || u == 0)
      return -tw_usage_error("synth-model", USAGE, "--layers wants a number 1..256, not '%s'", v);
    o->n_layers = (int)u;
  } else if (!strcmp(a, "--seed")) {
    if (parse_u64(v, ~0ull, &u))
      return -tw_usage_error("synth-model", USAGE, "--seed wants a whole number >= 0, not '%s'", v);
    o->seed = u;
  } else if (!strcmp(a, "--type")) {
    if (parse_type(v, o))
      return -tw_usage_error("synth-model", USAGE,
                             "--type wants f16, f32, q4_0, q4_1, q5_0, q5_1 or q8_0, not '%s'", v);
  } else if (a[0] == '-') {
    return -tw_option_error("synth-model", USAGE, a, VALUE_OPTIONS, 0);
  } else {
    return -tw_usage_error("synth-model", USAGE, "unexpected argument '%s'", a);
  }
  return 2;
}

int tw_cli_synth_model(int argc, char **argv) {
  tw_synth_options o = {.size = NULL};
  const char *out = NULL;
  for (int i = 1; i < argc;) {
    if (tw_arg_is_help(argv[i])) return tw_usage_print(USAGE);
    int used = parse_option(argc, argv, i, &o, &out);
    if (used < 0) return -used;
    i += used;
  }
  tw_hparams hp;
  if (!o.size) return tw_usage_error("synth-model", USAGE, "--size is required");
  if (!out) return tw_usage_error("synth-model", USAGE, "-o FILE is required");
  if (tw_hparams_for_size(o.size, &hp) != 0)
    return tw_usage_error("synth-model", USAGE, "%s", tw_last_error());
  const char *inputs[] = {o.header_path, NULL};
  int rc = tw_check_output("synth-model", USAGE, out, inputs);
  if (rc) return rc;
  if (tw_synth_model_write(&o, out) != 0) {
    fprintf(stderr, "tilewhisper synth-model: %s\n", tw_last_error());
    return 1;
  }
  return 0;
}

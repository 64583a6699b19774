/* tilewhisper synth-model --size S [--layers N] [--seed S] [--header FILE]
 *                         [--f32] -o FILE */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "whisper/model.h"

static const char *USAGE =
    "tilewhisper synth-model --size tiny|base|small|medium|large-v2|large-v3\n"
    "                               [--layers N] [--seed S] [--header FILE] [--f32] -o FILE";
static const char *const VALUE_OPTIONS[] = {"--size", "--header", "-o", "--output", "--layers",
                                            "--seed", NULL};

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || v > max) return -1;
  *out = v;
  return 0;
}

/* Applies option argv[i] (and its value argv[i + 1]); returns the number of
 * arguments used, or -2 after printing why it is refused. */
static int parse_option(int argc, char **argv, int i, tw_synth_options *o, const char **out) {
  const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
  unsigned long long u;
  if (!strcmp(a, "--f32")) {
    o->all_f32 = 1;
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
  tw_errbuf err;
  tw_whisper_hparams hp;
  if (!o.size) return tw_usage_error("synth-model", USAGE, "--size is required");
  if (!out) return tw_usage_error("synth-model", USAGE, "-o FILE is required");
  if (tw_whisper_hparams_for_size(o.size, &hp, &err) != 0)
    return tw_usage_error("synth-model", USAGE, "%s", err.msg);
  const char *inputs[] = {o.header_path, NULL};
  int rc = tw_check_output("synth-model", USAGE, out, inputs);
  if (rc) return rc;
  if (tw_whisper_synth_write(&o, out, &err) != 0) {
    fprintf(stderr, "tilewhisper synth-model: %s\n", err.msg);
    return 1;
  }
  return 0;
}

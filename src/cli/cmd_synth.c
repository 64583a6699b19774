/* tilewhisper synth-model --size S [--layers N] [--seed S] [--header FILE]
 *                         [--f32] -o FILE */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tilewhisper/tilewhisper.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tilewhisper synth-model --size tiny|base|small|medium|large-v2|large-v3\n"
          "                               [--layers N] [--seed S] [--header FILE] [--f32] "
          "-o FILE\n");
}

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
 * arguments used, or 0 for a usage error. */
static int parse_option(int argc, char **argv, int i, tw_synth_options *o, const char **out) {
  const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
  unsigned long long u;
  if (!strcmp(a, "--f32")) {
    o->all_f32 = 1;
    return 1;
  }
  if (!v) return 0;
  if (!strcmp(a, "--size")) {
    o->size = v;
  } else if (!strcmp(a, "--header")) {
    o->header_path = v;
  } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
    *out = v;
  } else if (!strcmp(a, "--layers") && !parse_u64(v, 256, &u) && u > 0) {
    o->n_layers = (int)u;
  } else if (!strcmp(a, "--seed") && !parse_u64(v, ~0ull, &u)) {
    o->seed = u;
  } else {
    return 0;
  }
  return 2;
}

int tw_cli_synth_model(int argc, char **argv) {
  tw_synth_options o = {.size = NULL};
  const char *out = NULL;
  for (int i = 1; i < argc;) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    }
    int used = parse_option(argc, argv, i, &o, &out);
    if (!used) {
      usage(stderr);
      return 2;
    }
    i += used;
  }
  tw_hparams hp;
  if (!o.size || !out) {
    usage(stderr);
    return 2;
  }
  if (tw_hparams_for_size(o.size, &hp) != 0) {
    fprintf(stderr, "tilewhisper synth-model: %s\n", tw_last_error());
    return 2;
  }
  if (tw_synth_model_write(&o, out) != 0) {
    fprintf(stderr, "tilewhisper synth-model: %s\n", tw_last_error());
    return 1;
  }
  return 0;
}

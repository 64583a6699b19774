#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tilewhisper/outfile.h"

int tw_arg_long(const char *s, long lo, long hi, long *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int tw_usage_error(const char *cmd, const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tilewhisper %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nusage: %s\n", usage);
  va_end(ap);
  return 2;
}

int tw_arg_is_help(const char *s) { return s && (!strcmp(s, "--help") || !strcmp(s, "-h")); }

int tw_usage_print(const char *usage) {
  printf("usage: %s\n", usage);
  return 0;
}

int tw_option_error(const char *cmd, const char *usage, const char *arg,
                    const char *const *value_options, int is_last) {
  for (int i = 0; value_options && value_options[i]; i++)
    if (!strcmp(arg, value_options[i]) && is_last)
      return tw_usage_error(cmd, usage, "option '%s' needs a value", arg);
  return tw_usage_error(cmd, usage, "unknown option '%s' (--help lists the options)", arg);
}

int tw_check_output(const char *cmd, const char *usage, const char *out,
                    const char *const *inputs) {
  for (int i = 0; out && inputs[i]; i++)
    if (strcmp(inputs[i], "-") && tw_same_file(out, inputs[i]))
      return tw_usage_error(cmd, usage, "output %s is the input %s: refusing to overwrite it", out,
                            inputs[i]);
  return 0;
}

const char *tw_json_escape(const char *s, char *buf, size_t cap) {
  size_t o = 0;
  for (; s && *s && o + 7 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)ch;
    } else if (ch < 0x20) {
      o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", ch);
    } else {
      buf[o++] = (char)ch;
    }
  }
  buf[o] = '\0';
  return buf;
}

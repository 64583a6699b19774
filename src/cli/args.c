#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

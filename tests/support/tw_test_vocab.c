#include "tw_test_vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int b64_value(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

long tw_test_base64_decode(const char *src, size_t n, unsigned char *dst) {
  while (n && src[n - 1] == '=') n--; /* padding only says where the data ends */
  if (n % 4 == 1) return -1;
  long out = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)src[i]);
    if (v < 0) return -1;
    acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) bits -= 8, dst[out++] = (unsigned char)(acc >> bits);
  }
  return out;
}

static char *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) free(buf), buf = NULL;
  fclose(f);
  if (buf) buf[sz] = '\0', *size = (size_t)sz;
  return buf;
}

static int count_lines(const char *text) {
  int n = 0;
  for (const char *p = text; *p; p++) n += *p == '\n';
  return n;
}

int tw_test_vocab_load(const char *file, tw_test_vocab *v) {
  memset(v, 0, sizeof *v);
  size_t size;
  char *text = read_all(file, &size);
  if (!text) return fprintf(stderr, "cannot read %s\n", file), -1;
  int lines = count_lines(text);
  v->bytes = calloc((size_t)lines, sizeof *v->bytes);
  v->lens = calloc((size_t)lines, sizeof *v->lens);
  v->storage = malloc(size); /* decoded bytes are shorter than their base64 */
  if (!v->bytes || !v->lens || !v->storage) return free(text), tw_test_vocab_free(v), -1;
  size_t used = 0;
  char *line = text;
  for (int i = 0; i < lines; i++) {
    char *nl = strchr(line, '\n'), *sp = strchr(line, ' ');
    long rank = sp && sp < nl ? strtol(sp + 1, NULL, 10) : -1;
    long len = rank >= 0 ? tw_test_base64_decode(line, (size_t)(sp - line),
                                                 (unsigned char *)v->storage + used) : -1;
    if (len < 0 || rank >= lines || v->bytes[rank]) {
      fprintf(stderr, "%s: line %d is malformed or repeats rank %ld\n", file, i + 1, rank);
      return free(text), tw_test_vocab_free(v), -1;
    }
    v->bytes[rank] = v->storage + used;
    v->lens[rank] = (uint32_t)len;
    used += (size_t)len;
    line = nl + 1;
  }
  v->n = lines;
  free(text);
  return 0;
}

void tw_test_vocab_free(tw_test_vocab *v) {
  free(v->bytes);
  free(v->lens);
  free(v->storage);
  memset(v, 0, sizeof *v);
}

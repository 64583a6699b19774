/* Bounds-checked cursor over a mapped model file (loader-internal). */
#ifndef TW_WHISPER_MODEL_READER_H
#define TW_WHISPER_MODEL_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "whisper/model.h"

typedef struct tw_reader {
  const uint8_t *p;
  size_t size, off;
  const char *path;
  tw_errbuf *err;
} tw_reader;

static inline int tw__rd_truncated(tw_reader *r, const char *what, size_t need) {
  return tw_err(r->err, TW_EFORMAT, "%s: truncated at offset %zu: %s needs %zu bytes, %zu left",
                r->path, r->off, what, need, r->size - r->off);
}

/* Points *out at the next n bytes, or fails without moving. */
static inline int tw__rd_bytes(tw_reader *r, const char *what, size_t n, const void **out) {
  if (n > r->size - r->off) return tw__rd_truncated(r, what, n);
  *out = r->p + r->off;
  r->off += n;
  return 0;
}

static inline int tw__rd_i32(tw_reader *r, const char *what, int32_t *v) {
  const void *b = NULL;
  int rc = tw__rd_bytes(r, what, 4, &b);
  if (rc == 0) memcpy(v, b, 4);
  return rc;
}

/* Reads the tensor section (model_tensors.c). */
int tw__whisper_read_tensors(tw_reader *r, tw_whisper_model *m, unsigned flags);

#endif

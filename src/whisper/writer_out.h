/* Internal pieces the transcript writers share: a FILE wrapper that remembers
 * its first write error (so a writer checks once, at the end), the UTF-8 text
 * emitter with the per-format rewrites, and Python-style float output. */
#ifndef TW_WHISPER_WRITER_OUT_H
#define TW_WHISPER_WRITER_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "whisper/transcript.h"

typedef struct tw_wout {
  FILE *f;
  int err; /* errno of the first failed write; 0 while all went well */
} tw_wout;

void tw_wout_bytes(tw_wout *o, const char *p, size_t n);
void tw_wout_str(tw_wout *o, const char *s);
void tw_wout_fmt(tw_wout *o, const char *fmt, ...) TW_PRINTF(2, 3);
/* Flushes; TW_EIO naming `what` and strerror when any write or the flush
 * failed, else 0. */
int tw_wout_finish(tw_wout *o, const char *what, tw_errbuf *err);

/* How a text is rewritten on its way out. */
typedef enum tw_text_mode {
  TW_TEXT_PLAIN,    /* as is */
  TW_TEXT_SUBTITLE, /* "-->" becomes "->" (srt, vtt) */
  TW_TEXT_TSV,      /* a tab becomes a space */
  TW_TEXT_JSON      /* the inside of a JSON string, escaped as Python's json does */
} tw_text_mode;

/* Writes text (NULL = "") in the given mode; with strip, leading and trailing
 * code points for which Python's str.isspace() holds are dropped first.
 * Ill-formed UTF-8 comes out as U+FFFD, one per maximal subpart. */
void tw_wout_text(tw_wout *o, const char *text, int strip, tw_text_mode mode);

/* Decodes the code point at s[0..n) (n >= 1): returns the bytes it takes and
 * stores it in *cp; an ill-formed sequence gives U+FFFD and the length of its
 * maximal subpart (Unicode 3.9; what Python's errors="replace" consumes). */
size_t tw_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Python's str.isspace() for one code point. */
int tw_py_isspace(uint32_t cp);

/* Longest text tw_py_float_repr writes, NUL included. */
#define TW_FLOAT_REPR_MAX 32

/* Python's repr(x) of a finite double: the shortest digits that read back as
 * x, in fixed notation for 1e-4 <= |x| < 1e16 ("0.0", "2.5", "100.0") and as
 * "1.5e-05" / "1e+16" outside.  Returns the length written into buf. */
int tw_py_float_repr(double x, char buf[TW_FLOAT_REPR_MAX]);

/* The JSON writer (writer_json.c). */
void tw_write_json_body(tw_wout *o, const tw_transcript *t);

#endif

#include "whisper/writer_out.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* stdio sets errno on a failed write; EIO stands in if a libc does not. */
static void latch(tw_wout *o) {
  if (!o->err) o->err = errno ? errno : EIO;
}

void tw_wout_bytes(tw_wout *o, const char *p, size_t n) {
  if (o->err || n == 0) return;
  errno = 0;
  if (fwrite(p, 1, n, o->f) != n) latch(o);
}

void tw_wout_str(tw_wout *o, const char *s) { tw_wout_bytes(o, s, strlen(s)); }

void tw_wout_fmt(tw_wout *o, const char *fmt, ...) {
  if (o->err) return;
  va_list ap;
  va_start(ap, fmt);
  errno = 0;
  int n = vfprintf(o->f, fmt, ap);
  va_end(ap);
  if (n < 0) latch(o);
}

int tw_wout_finish(tw_wout *o, const char *what, tw_errbuf *err) {
  errno = 0;
  if (fflush(o->f) != 0 || ferror(o->f)) latch(o);
  if (o->err) return tw_err(err, TW_EIO, "writing %s: %s", what, strerror(o->err));
  return 0;
}

size_t tw_utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  /* The second byte's range depends on the lead byte: it excludes overlong
   * forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4). */
  size_t len;
  uint32_t v;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *cp = 0xFFFD;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *cp = 0xFFFD;
      return i;
    }
    v = (v << 6) | (s[i] & 0x3Fu);
    lo = 0x80;
    hi = 0xBF;
  }
  *cp = v;
  return len;
}

int tw_py_isspace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Byte range [*b, *e) of s without leading/trailing Python whitespace. */
static void strip_bounds(const unsigned char *s, size_t n, size_t *b, size_t *e) {
  size_t i = 0, first = n, last_end = 0;
  while (i < n) {
    uint32_t cp;
    size_t len = tw_utf8_next(s + i, n - i, &cp);
    if (!tw_py_isspace(cp)) {
      if (first == n) first = i;
      last_end = i + len;
    }
    i += len;
  }
  *b = first;
  *e = first == n ? n : last_end;
}

/* One code point inside a JSON string, as Python's json escapes it with
 * ensure_ascii=False: quote, backslash and C0 controls only. */
static void json_char(tw_wout *o, uint32_t cp, const unsigned char *raw, size_t len) {
  switch (cp) {
    case '"': tw_wout_str(o, "\\\""); return;
    case '\\': tw_wout_str(o, "\\\\"); return;
    case '\n': tw_wout_str(o, "\\n"); return;
    case '\r': tw_wout_str(o, "\\r"); return;
    case '\t': tw_wout_str(o, "\\t"); return;
    case '\b': tw_wout_str(o, "\\b"); return;
    case '\f': tw_wout_str(o, "\\f"); return;
    default: break;
  }
  if (cp < 0x20)
    tw_wout_fmt(o, "\\u%04x", (unsigned)cp);
  else
    tw_wout_bytes(o, (const char *)raw, len);
}

void tw_wout_text(tw_wout *o, const char *text, int strip, tw_text_mode mode) {
  static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
  const unsigned char *s = (const unsigned char *)(text ? text : "");
  size_t n = strlen((const char *)s), i = 0, end = n;
  if (strip) strip_bounds(s, n, &i, &end);
  while (i < end) {
    uint32_t cp;
    size_t len = tw_utf8_next(s + i, end - i, &cp);
    /* A valid U+FFFD and an ill-formed run both come out as its 3 bytes. */
    const unsigned char *raw = cp == 0xFFFD ? (const unsigned char *)replacement : s + i;
    size_t raw_len = cp == 0xFFFD ? 3 : len;
    if (mode == TW_TEXT_SUBTITLE && cp == '-' && end - i >= 3 && memcmp(s + i, "-->", 3) == 0) {
      tw_wout_str(o, "->");
      len = 3;
    } else if (mode == TW_TEXT_TSV && cp == '\t') {
      tw_wout_str(o, " ");
    } else if (mode == TW_TEXT_JSON) {
      json_char(o, cp, raw, raw_len);
    } else {
      tw_wout_bytes(o, (const char *)raw, raw_len);
    }
    i += len;
  }
}

#include "whisper/token_text.h"

#include <string.h>

#include "core/mem.h"

/* Length of the sequence a lead byte starts (0: never a lead), and the range
 * its first continuation byte must fall in (Unicode Table 3-7), so overlong
 * forms, surrogates and code points above U+10FFFF are ill-formed. */
static int utf8_lead(unsigned char b, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0) *lo = 0xA0;
    if (b == 0xED) *hi = 0x9F;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0) *lo = 0x90;
    if (b == 0xF4) *hi = 0x8F;
    return 4;
  }
  return 0;
}

size_t tw_utf8_repair(const unsigned char *b, size_t n, char *out) {
  static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned char lo, hi;
    int len = utf8_lead(b[i], &lo, &hi);
    size_t good = len ? 1 : 0; /* bytes of the sequence that are well-formed so far */
    while (len && good < (size_t)len && i + good < n) {
      unsigned char c = b[i + good];
      if (c < lo || c > hi) break;
      lo = 0x80;
      hi = 0xBF;
      good++;
    }
    if (len && good == (size_t)len) {
      memcpy(out + o, b + i, good);
      o += good;
      i += good;
    } else {
      /* One U+FFFD for the whole maximal ill-formed prefix (at least 1 byte). */
      memcpy(out + o, fffd, 3);
      o += 3;
      i += good ? good : 1;
    }
  }
  return o;
}

/* Python's str.isspace() code points. */
static int is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

/* Code point starting at s[i] in well-formed UTF-8, and its length. */
static uint32_t decode_at(const unsigned char *s, size_t i, size_t *len) {
  unsigned char c = s[i];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  uint32_t cp = c & (0x7F >> n);
  for (int k = 1; k < n; k++) cp = (cp << 6) | (s[i + (size_t)k] & 0x3F);
  *len = (size_t)n;
  return cp;
}

void tw_utf8_strip(const char *str, size_t n, size_t *begin, size_t *end) {
  const unsigned char *s = (const unsigned char *)str;
  size_t b = 0, e = n, len;
  while (b < e && is_space(decode_at(s, b, &len))) b += len;
  while (e > b) {
    size_t start = e - 1;
    while (start > b && (s[start] & 0xC0) == 0x80) start--;
    if (!is_space(decode_at(s, start, &len))) break;
    e = start;
  }
  *begin = b;
  *end = e;
}

int tw_tokens_text(const tw_token_text *tt, const int32_t *tokens, int n, int32_t text_end,
                   char **out, size_t *out_len, tw_errbuf *err) {
  *out = NULL;
  *out_len = 0;
  if (n < 0 || (n > 0 && (!tokens || !tt || !tt->bytes)))
    return tw_err(err, TW_EINVAL, "token text: no tokens or no vocabulary");
  size_t raw_len = 0;
  for (int i = 0; i < n; i++) {
    size_t len = 0;
    if (tokens[i] >= 0 && tokens[i] < text_end && tt->bytes(tt->self, tokens[i], &len))
      raw_len += len;
  }
  unsigned char *raw = tw_malloc_aligned(raw_len);
  size_t cap;
  char *text = NULL;
  if (raw && !tw_mul_size(raw_len, 3, &cap) && cap + 1 > cap) text = tw_malloc_aligned(cap + 1);
  if (!text) {
    tw_free(raw);
    return tw_err(err, TW_ENOMEM, "token text: no memory for %zu bytes of text", raw_len);
  }
  size_t pos = 0;
  for (int i = 0; i < n; i++) {
    size_t len = 0;
    const char *b =
        tokens[i] >= 0 && tokens[i] < text_end ? tt->bytes(tt->self, tokens[i], &len) : NULL;
    if (b && len) {
      memcpy(raw + pos, b, len);
      pos += len;
    }
  }
  size_t o = tw_utf8_repair(raw, raw_len, text);
  text[o] = '\0';
  tw_free(raw);
  *out = text;
  *out_len = o;
  return TW_OK;
}

/* UTF-8 decoding and the character class lookup of the pre-splitter. */
#include "whisper/unicode_classes.h"

tw_uc_class tw__uc_class(uint32_t cp) {
  /* ASCII is most text: answer it without the search. */
  if (cp < 0x80) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return TW_UC_SPACE;
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return TW_UC_LETTER;
    if (cp >= '0' && cp <= '9') return TW_UC_NUMBER;
    return TW_UC_OTHER;
  }
  int lo = 0, hi = tw__uc_n_ranges - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (cp < tw__uc_ranges[mid].lo) hi = mid - 1;
    else if (cp > tw__uc_ranges[mid].hi) lo = mid + 1;
    else return (tw_uc_class)tw__uc_ranges[mid].cls;
  }
  return TW_UC_OTHER;
}

int tw__utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned b = s[0];
  if (b < 0x80) return *cp = b, 1;
  int len;
  uint32_t min, v;
  if (b >= 0xC2 && b <= 0xDF) len = 2, min = 0x80, v = b & 0x1F;
  else if (b >= 0xE0 && b <= 0xEF) len = 3, min = 0x800, v = b & 0x0F;
  else if (b >= 0xF0 && b <= 0xF4) len = 4, min = 0x10000, v = b & 0x07;
  else return 0; /* continuation byte, C0/C1 overlong lead, or beyond U+10FFFF */
  if (n < (size_t)len) return 0;
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

size_t tw__utf8_bad_run(const unsigned char *s, size_t n) {
  unsigned b = s[0], lo = 0x80, hi = 0xBF;
  int need;
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b >= 0xE0 && b <= 0xEF)
    need = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
  else if (b >= 0xF0 && b <= 0xF4)
    need = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
  else return 1;
  /* The second byte's range depends on the lead (no overlongs, surrogates
   * or values past U+10FFFF); later ones are any continuation byte. */
  size_t k = 1;
  for (int i = 0; i < need && k < n; i++, k++) {
    unsigned c = s[k];
    if (c < (i ? 0x80u : lo) || c > (i ? 0xBFu : hi)) break;
  }
  return k;
}

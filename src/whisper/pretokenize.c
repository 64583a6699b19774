/* GPT-2's pre-split pattern, as tiktoken applies it to Whisper's text:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * written out as the regex engine evaluates it (alternatives in order, the
 * first that matches wins, + is greedy) instead of linking a regex library.
 * BPE merges never cross a piece boundary, so these boundaries decide ids. */
#include "whisper/tokenizer_impl.h"
#include "whisper/unicode_classes.h"

/* Class and byte length of the character at s[i] (valid UTF-8, i < n). */
static tw_uc_class class_at(const unsigned char *s, size_t n, size_t i, size_t *len) {
  uint32_t cp = 0;
  int l = tw__utf8_next(s + i, n - i, &cp);
  *len = (size_t)l;
  return tw__uc_class(cp);
}

/* End of the run of characters of class cls starting at i. */
static size_t run_end(const unsigned char *s, size_t n, size_t i, tw_uc_class cls) {
  while (i < n) {
    size_t len;
    if (class_at(s, n, i, &len) != cls) break;
    i += len;
  }
  return i;
}

/* 's 't 're 've 'm 'll 'd (lower case only, as the pattern says). */
static size_t contraction(const unsigned char *s, size_t n) {
  if (n < 2 || s[0] != '\'') return 0;
  if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd') return 2;
  if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') ||
                 (s[1] == 'l' && s[2] == 'l')))
    return 3;
  return 0;
}

/* \s+(?!\S) backtracks to leave the last blank for the next word (" word"
 * keeps its space), unless the run ends the text; a single blank before a
 * non-blank falls through to the final \s+, which takes just that blank. */
static size_t blank_run(const unsigned char *s, size_t n) {
  size_t i = 0, last = 0, count = 0, len;
  while (i < n && class_at(s, n, i, &len) == TW_UC_SPACE) last = i, i += len, count++;
  if (i == n || count == 1) return i;
  return last;
}

size_t tw__pretok_next(const unsigned char *s, size_t n) {
  size_t c = contraction(s, n);
  if (c) return c;
  size_t len;
  tw_uc_class first = class_at(s, n, 0, &len);
  /* " ?X+": a leading U+0020 joins a following letter, number or symbol run. */
  if (s[0] == ' ' && n > 1) {
    size_t len1;
    tw_uc_class next = class_at(s, n, 1, &len1);
    if (next != TW_UC_SPACE) return run_end(s, n, 1, next);
  }
  if (first != TW_UC_SPACE) return run_end(s, n, 0, first);
  return blank_run(s, n);
}

int tw__utf8_check(const unsigned char *s, size_t n, size_t *bad_at) {
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int len = tw__utf8_next(s + i, n - i, &cp);
    if (!len) return *bad_at = i, -1;
    i += (size_t)len;
  }
  return 0;
}

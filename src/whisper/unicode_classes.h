/* The three Unicode character classes of the GPT-2 pre-split pattern:
 * \p{L} (General_Category L*), \p{N} (N*) and \s (White_Space).  The range
 * table is generated from the Unicode Character Database by
 * scripts/gen_unicode_classes.py; everything else is "other". */
#ifndef TW_WHISPER_UNICODE_CLASSES_H
#define TW_WHISPER_UNICODE_CLASSES_H

#include <stddef.h>
#include <stdint.h>

typedef enum tw_uc_class {
  TW_UC_OTHER = 0,
  TW_UC_LETTER = 1,
  TW_UC_NUMBER = 2,
  TW_UC_SPACE = 3
} tw_uc_class;

typedef struct tw_uc_range {
  uint32_t lo, hi; /* inclusive */
  uint8_t cls;     /* tw_uc_class */
} tw_uc_range;

/* Sorted, non-overlapping (unicode_classes.c, generated). */
extern const tw_uc_range tw__uc_ranges[];
extern const int tw__uc_n_ranges;

/* Class of code point cp (any value; non-characters are TW_UC_OTHER). */
tw_uc_class tw__uc_class(uint32_t cp);

/* Decodes one UTF-8 character of s[0..n) (n >= 1) into *cp and returns its
 * length, or 0 when the bytes are not well-formed UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF included). */
int tw__utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Where tw__utf8_next fails at s[0]: the length (>= 1) of the maximal
 * subpart of a well-formed sequence there, which Python's
 * decode("utf-8", "replace") turns into one U+FFFD. */
size_t tw__utf8_bad_run(const unsigned char *s, size_t n);

#endif

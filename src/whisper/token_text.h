/* Text of decoded tokens, as OpenAI's tokenizer.decode() gives it: the bytes
 * of the text tokens concatenated, then read as UTF-8 with every ill-formed
 * piece replaced by U+FFFD (Python's errors="replace"); plus str.strip().
 *
 * The vocabulary belongs to the tokenizer; the decoding rules only need a
 * token's bytes, so they take them through this small table. */
#ifndef TW_WHISPER_TOKEN_TEXT_H
#define TW_WHISPER_TOKEN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct tw_token_text {
  void *self;
  /* The bytes of text token `id` (id < eot; not NUL-terminated) and their
   * count in *n; NULL when the id has no text. The bytes stay valid for the
   * vocabulary's lifetime (tw_token_info.bytes points at them). */
  const char *(*bytes)(void *self, int32_t id, size_t *n);
} tw_token_text;

/* *out = NUL-terminated UTF-8 text of tokens[0..n) (ids >= text_end, i.e. EOT,
 * special and timestamp tokens, are skipped as OpenAI's decode does for
 * timestamps); *out_len its length. Owned by the caller (tw_free). */
int tw_tokens_text(const tw_token_text *tt, const int32_t *tokens, int n, int32_t text_end,
                   char **out, size_t *out_len, tw_errbuf *err);

/* Writes bytes[0..n) to out as well-formed UTF-8, each maximal ill-formed
 * subsequence (Unicode 3.9, D93b; what Python does) becoming U+FFFD. out must
 * hold 3*n bytes. Returns the bytes written. */
size_t tw_utf8_repair(const unsigned char *bytes, size_t n, char *out);

/* Python's str.strip() on well-formed UTF-8: [*begin, *end) is s without its
 * leading and trailing Unicode whitespace (str.isspace). */
void tw_utf8_strip(const char *s, size_t n, size_t *begin, size_t *end);

#endif

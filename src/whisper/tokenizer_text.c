/* Token ids <-> text: decoding assembles bytes, encoding pre-splits the text
 * and runs BPE on each piece (tiktoken's encode_ordinary). */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "whisper/tokenizer_impl.h"
#include "whisper/unicode_classes.h"

static int keep_token(const tw_tokenizer *tok, int32_t id, unsigned flags) {
  return id < tok->sp.timestamp_begin || (flags & TW_DECODE_TIMESTAMPS);
}

/* A copy of s[0..*n) with every maximal invalid subpart replaced by U+FFFD
 * (at most 3 bytes per input byte); *n becomes its length.  NULL on ENOMEM. */
static char *replace_invalid(const char *s, size_t *n) {
  const unsigned char *u = (const unsigned char *)s;
  char *out = tw_malloc_aligned(*n * 3 + 1);
  if (!out) return NULL;
  size_t w = 0;
  for (size_t i = 0; i < *n;) {
    uint32_t cp;
    size_t len = (size_t)tw__utf8_next(u + i, *n - i, &cp);
    if (len) {
      memcpy(out + w, s + i, len);
      w += len;
    } else {
      len = tw__utf8_bad_run(u + i, *n - i);
      memcpy(out + w, "\357\277\275", 3);
      w += 3;
    }
    i += len;
  }
  out[w] = '\0';
  *n = w;
  return out;
}

int tw_tokenizer_decode(const tw_tokenizer *tok, const int32_t *ids, size_t n_ids,
                        unsigned flags, char **text, size_t *n_text, tw_errbuf *err) {
  *text = NULL;
  size_t total = 0;
  const char *b;
  size_t n;
  for (size_t i = 0; i < n_ids; i++) {
    int rc = tw_tokenizer_token_bytes(tok, ids[i], &b, &n, err);
    if (rc) return tw_err(err, rc, "tokenizer: decode: token %zu of %zu: id %d outside [0, %d)", i,
                          n_ids, (int)ids[i], (int)tok->sp.n_vocab);
    if (keep_token(tok, ids[i], flags)) total += n;
  }
  char *out = tw_malloc_aligned(total + 1);
  if (!out) return tw_err(err, TW_ENOMEM, "tokenizer: decode: %zu bytes of text", total + 1);
  size_t at = 0;
  for (size_t i = 0; i < n_ids; i++) {
    if (!keep_token(tok, ids[i], flags)) continue;
    tw_tokenizer_token_bytes(tok, ids[i], &b, &n, NULL);
    memcpy(out + at, b, n);
    at += n;
  }
  out[at] = '\0';
  if (flags & TW_DECODE_REPLACE_INVALID) {
    char *fixed = replace_invalid(out, &at);
    tw_free(out);
    if (!(out = fixed)) return tw_err(err, TW_ENOMEM, "tokenizer: decode: %zu bytes of text", at);
  }
  *text = out;
  if (n_text) *n_text = at;
  return TW_OK;
}

/* Bytes around offset `at` as hex, for the message about a missing token. */
static void hex_context(const unsigned char *s, size_t n, size_t at, char *buf, size_t cap) {
  size_t w = 0;
  buf[0] = '\0';
  for (size_t i = at; i < n && i < at + 4 && w + 4 < cap; i++)
    w += (size_t)snprintf(buf + w, cap - w, "%s%02X", i > at ? " " : "", s[i]);
}

int tw_tokenizer_encode(const tw_tokenizer *tok, const char *text, size_t len, unsigned flags,
                        int32_t **ids, size_t *n_ids, tw_errbuf *err) {
  const unsigned char *s = (const unsigned char *)text;
  size_t bad;
  *ids = NULL, *n_ids = 0;
  if (!len) return TW_OK;
  if (tw__utf8_check(s, len, &bad))
    return tw_err(err, TW_EINVAL, "tokenizer: encode: text is not UTF-8 at byte %zu (0x%02X)", bad,
                  s[bad]);
  /* A piece never yields more tokens than bytes. */
  size_t scratch_n, ids_bytes;
  if (tw_mul_size(len, 2 * sizeof(uint32_t), &scratch_n) ||
      tw_mul_size(len, sizeof **ids, &ids_bytes))
    return tw_err(err, TW_EOVERFLOW, "tokenizer: encode: %zu bytes of text", len);
  uint32_t *scratch = tw_malloc_aligned(scratch_n + 2 * sizeof(uint32_t));
  int32_t *out = tw_malloc_aligned(ids_bytes);
  if (!scratch || !out) {
    tw_free(scratch), tw_free(out);
    return tw_err(err, TW_ENOMEM, "tokenizer: encode: %zu bytes of text", len);
  }
  size_t count = 0;
  for (size_t at = 0; at < len;) {
    size_t piece = tw__pretok_next(s + at, len - at), missing;
    long k = tw__bpe_piece(tok, s + at, piece, flags, scratch, out + count, &missing);
    if (k < 0) {
      char hex[32];
      hex_context(s, len, at + missing, hex, sizeof hex);
      tw_free(scratch), tw_free(out);
      return tw_err(err, TW_ENOTFOUND,
                    "tokenizer: encode: no token holds the bytes at offset %zu (%s): the model's "
                    "vocabulary lacks %d of the 256 byte tokens%s",
                    at + missing, hex, (int)tok->damage.n_missing_bytes,
                    tok->damage.n_fffd_tokens > 8
                        ? " (damaged by an early converter: U+FFFD in their place)"
                        : "");
    }
    count += (size_t)k;
    at += piece;
  }
  tw_free(scratch);
  *ids = out, *n_ids = count;
  return TW_OK;
}

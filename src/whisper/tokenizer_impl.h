/* Tokenizer internals shared by its files (and white-box tests). */
#ifndef TW_WHISPER_TOKENIZER_IMPL_H
#define TW_WHISPER_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/tokenizer.h"

/* Bytes -> lowest id holding them, open addressing over the borrowed
 * vocabulary (slots hold id + 1; 0 is empty). */
typedef struct tw_vocab_map {
  uint32_t *slots;
  size_t mask;
  const char *const *bytes;
  const uint32_t *lens;
} tw_vocab_map;

int tw__vocab_map_build(tw_vocab_map *m, const char *const *bytes, const uint32_t *lens,
                        int32_t n, tw_errbuf *err);
void tw__vocab_map_free(tw_vocab_map *m);
/* Id of exactly these bytes, or -1. */
int32_t tw__vocab_map_find(const tw_vocab_map *m, const unsigned char *s, size_t n);

struct tw_tokenizer {
  tw_special_tokens sp;
  int32_t n_text;           /* text tokens taken from the file: min(file count, eot) */
  const char *const *bytes; /* borrowed vocabulary */
  const uint32_t *lens;
  tw_vocab_map map;
  int32_t byte_fallback[256]; /* id for a byte without its own token, or -1 */
  char *special_text;         /* names of ids n_text .. n_vocab-1, back to back */
  uint32_t *special_off;      /* n_vocab - n_text + 1 offsets into it */
  tw_vocab_damage damage;
};

/* Id of byte b's single-byte token in GPT-2's byte-level vocabularies:
 * bytes_to_unicode's order, printable bytes (33-126, 161-172, 174-255)
 * first, then the others ascending. */
int32_t tw__gpt2_byte_id(unsigned b);

/* Byte length of the pre-split piece at the start of s (n > 0 bytes of
 * well-formed UTF-8). */
size_t tw__pretok_next(const unsigned char *s, size_t n);

/* 0 when s[0..n) is well-formed UTF-8, else -1 with the first bad offset. */
int tw__utf8_check(const unsigned char *s, size_t n, size_t *bad_at);

/* BPE of one piece (n >= 1 bytes) into ids[] (room for n).  scratch holds
 * 2n + 2 uint32.  Returns the count, or -1 with *missing_at set to the piece
 * offset of bytes no token holds (damaged vocabulary). */
long tw__bpe_piece(const tw_tokenizer *tok, const unsigned char *s, size_t n, unsigned flags,
                   uint32_t *scratch, int32_t *ids, size_t *missing_at);

#endif

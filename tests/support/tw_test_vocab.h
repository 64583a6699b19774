/* Test vocabularies from OpenAI's tiktoken rank files (the .tiktoken files of tests/data:
 * "base64(bytes) rank" per line, rank = token id), shaped like the model
 * loader's arrays so a tokenizer can be built from the real bytes. */
#ifndef TW_TEST_VOCAB_H
#define TW_TEST_VOCAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_test_vocab {
  int32_t n;
  const char **bytes; /* n tokens, bytes[i] points into storage */
  uint32_t *lens;
  char *storage;
} tw_test_vocab;

/* Loads a rank file (e.g. tw_test_data("gpt2.tiktoken")).  The ranks must be
 * 0..n-1, each once.  Returns 0, or -1 with a message on stderr.  Needs only
 * the C library, so the fuzz targets can use it too. */
int tw_test_vocab_load(const char *path, tw_test_vocab *v);
void tw_test_vocab_free(tw_test_vocab *v);

/* RFC 4648 base64 (with padding) of src[0..n) decoded into dst; returns the
 * byte count or -1 on a malformed string. */
long tw_test_base64_decode(const char *src, size_t n, unsigned char *dst);

#endif

/* libFuzzer target for the tokenizer: any bytes are encoded with OpenAI's
 * real multilingual vocabulary (and with the damaged one of
 * for-tests-ggml-base.bin, strictly and with the byte fallback), and decoded
 * back as ids.  Never a crash; well-formed UTF-8 must encode and decode to
 * itself; malformed UTF-8 must be refused as such, and decoding with
 * replacement must always give well-formed UTF-8.  The data directory comes
 * from $TW_FUZZ_DATA (run_fuzz_bpe.sh sets it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/tw_test_vocab.h"
#include "core/mem.h"
#include "whisper/model.h"
#include "whisper/tokenizer_impl.h"

static tw_test_vocab g_vocab;
static tw_tokenizer *g_real, *g_damaged;
static tw_whisper_model *g_model;

static void setup_failed(const char *what, const char *msg) {
  fprintf(stderr, "fuzz_bpe: %s: %s\n", what, msg);
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *dir = getenv("TW_FUZZ_DATA");
  char path[4096];
  tw_errbuf err = {{0}};
  if (!dir) setup_failed("TW_FUZZ_DATA", "not set (tests/data)");
  snprintf(path, sizeof path, "%s/multilingual.tiktoken", dir);
  if (tw_test_vocab_load(path, &g_vocab)) setup_failed(path, "unreadable");
  if (tw_tokenizer_create(g_vocab.bytes, g_vocab.lens, g_vocab.n, 51865, &g_real, &err))
    setup_failed("tokenizer", err.msg);
  snprintf(path, sizeof path, "%s/for-tests-ggml-base.bin", dir);
  if (tw_whisper_model_load_ex(path, TW_LOAD_HEADER_ONLY, &g_model, &err) ||
      tw_tokenizer_create(g_model->token_bytes, g_model->token_lens, g_model->n_vocab_file,
                          g_model->hp.n_vocab, &g_damaged, &err))
    setup_failed(path, err.msg);
  return 0;
}

/* Encodes and decodes; returns the encode status. */
static int round_trip(const tw_tokenizer *tok, const uint8_t *data, size_t size, unsigned flags,
                      int expect_same) {
  int32_t *ids = NULL;
  size_t n_ids = 0, n_text = 0;
  char *text = NULL;
  tw_errbuf err;
  int rc = tw_tokenizer_encode(tok, (const char *)data, size, flags, &ids, &n_ids, &err);
  if (rc) {
    if (ids || n_ids) abort();
    return rc;
  }
  if (n_ids > size) abort();
  if (tw_tokenizer_decode(tok, ids, n_ids, 0, &text, &n_text, &err)) abort();
  if (expect_same && (n_text != size || memcmp(text, data, size))) abort();
  tw_free(ids);
  tw_free(text);
  return rc;
}

/* The input read as token ids (some out of range) must decode or be refused. */
static void decode_ids(const uint8_t *data, size_t size) {
  size_t n = size / 2;
  int32_t ids[2048];
  if (n > 2048) n = 2048;
  int out_of_range = 0;
  for (size_t i = 0; i < n; i++) {
    ids[i] = (int32_t)((data[2 * i] | data[2 * i + 1] << 8) % 52000);
    out_of_range |= ids[i] >= 51865;
  }
  char *text = NULL;
  size_t n_text;
  tw_errbuf err;
  int rc = tw_tokenizer_decode(g_real, ids, n, TW_DECODE_TIMESTAMPS, &text, &n_text, &err);
  if ((rc != 0) != out_of_range || (rc && rc != TW_ERANGE)) abort();
  tw_free(text);
}

/* The input spelled as single-byte tokens, decoded with U+FFFD replacement:
 * always well-formed UTF-8, and the input itself when it already was. */
static void decode_replacing(const uint8_t *data, size_t size, int valid) {
  int32_t ids[4096];
  size_t n = size < 4096 ? size : 4096, n_text;
  for (size_t i = 0; i < n; i++) ids[i] = tw__gpt2_byte_id(data[i]);
  char *text = NULL;
  tw_errbuf err;
  if (tw_tokenizer_decode(g_real, ids, n, TW_DECODE_REPLACE_INVALID, &text, &n_text, &err)) abort();
  size_t bad;
  if (tw__utf8_check((const unsigned char *)text, n_text, &bad)) abort();
  if (valid && n == size && (n_text != size || memcmp(text, data, size))) abort();
  tw_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rc = round_trip(g_real, data, size, 0, 1);
  if (rc && rc != TW_EINVAL) abort(); /* the real vocabulary holds every byte */
  /* The damaged vocabulary: strict may refuse, the fallback never does on
   * text the real vocabulary accepted. */
  int strict = round_trip(g_damaged, data, size, 0, 0);
  int lenient = round_trip(g_damaged, data, size, TW_ENCODE_BYTE_FALLBACK, 0);
  if ((strict && strict != TW_EINVAL && strict != TW_ENOTFOUND) || (lenient != rc)) abort();
  decode_ids(data, size);
  decode_replacing(data, size, rc == TW_OK);
  return 0;
}

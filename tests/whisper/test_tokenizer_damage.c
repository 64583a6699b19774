/* The damaged vocabulary of tests/data/for-tests-ggml-base.bin (an early
 * converter put U+FFFD in place of partial-UTF-8 bytes): detected, counted,
 * English still encodes, other text fails with a clear message, and the
 * non-speech set is OpenAI's rule applied to that vocabulary (expected values
 * from scripts/tokenizer_reference.py and the reference's "Traps"). */
#include <string.h>

#include "core/mem.h"
#include "tw_test.h"
#include "tw_test_vocab.h"
#include "whisper/model.h"
#include "whisper/tokenizer.h"

static void test_detection(const tw_tokenizer *bad, const tw_tokenizer *good) {
  const tw_vocab_damage *d = tw_tokenizer_damage(bad);
  /* 1,476 damaged tokens plus the 4 that hold U+FFFD in the real vocabulary;
   * the 128 bytes 0x80-0xFF have lost their single-byte tokens. */
  CHECK_MSG(d->damaged && d->n_fffd_tokens == 1480 && d->n_missing_bytes == 128,
            "damaged %d, %d U+FFFD tokens, %d missing bytes", d->damaged, (int)d->n_fffd_tokens,
            (int)d->n_missing_bytes);
  d = tw_tokenizer_damage(good);
  CHECK(!d->damaged && d->n_fffd_tokens == 4 && d->n_missing_bytes == 0);
}

static void test_encode(const tw_tokenizer *bad) {
  int32_t *ids = NULL;
  size_t n = 0;
  tw_errbuf err;
  /* ASCII is intact: the same ids as the real vocabulary gives (Python). */
  int rc = tw_tokenizer_encode(bad, " Ask not what your country can do for you", 41, 0, &ids, &n,
                               &err);
  static const int32_t want[] = {12320, 406, 437, 428, 1941, 393, 360, 337, 291};
  CHECK_MSG(rc == TW_OK && n == 9 && !memcmp(ids, want, sizeof want), "rc %d n %zu", rc, n);
  tw_free(ids);
  /* Whole-character tokens survived: " ♩" is 36865 in both vocabularies. */
  rc = tw_tokenizer_encode(bad, "ok \342\231\251", 6, 0, &ids, &n, &err);
  CHECK(rc == TW_OK && n == 2 && ids[0] == 453 && ids[1] == 36865);
  tw_free(ids);
  /* "♩" alone needs token E2 99 (3268), damaged, and bytes no token holds. */
  ids = NULL;
  rc = tw_tokenizer_encode(bad, "ok\342\231\251", 5, 0, &ids, &n, &err);
  CHECK(rc == TW_ENOTFOUND && ids == NULL);
  CHECK_MSG(strstr(err.msg, "damaged") && strstr(err.msg, "offset 2") && strstr(err.msg, "E2"),
            "%s", err.msg);
  /* With the byte fallback: the bytes' ids at their GPT-2 positions. */
  rc = tw_tokenizer_encode(bad, "\342\231\251", 3, TW_ENCODE_BYTE_FALLBACK, &ids, &n, &err);
  CHECK(rc == TW_OK && n == 3 && ids[0] == 158 && ids[1] == 247 && ids[2] == 102);
  tw_free(ids);
  /* Decoding the damaged tokens gives the U+FFFD they hold. */
  char *text;
  CHECK(tw_tokenizer_decode(bad, (const int32_t[]){158}, 1, 0, &text, &n, &err) == TW_OK);
  CHECK(n == 3 && !memcmp(text, "\357\277\275", 3));
  tw_free(text);
}

static void test_non_speech(const tw_tokenizer *bad, const tw_tokenizer *good) {
  int32_t a[TW_NON_SPEECH_MAX], b[TW_NON_SPEECH_MAX];
  int na = 0, nb = 0;
  tw_errbuf err;
  CHECK(tw_tokenizer_non_speech(good, a, &na, &err) == TW_OK && na == 82);
  CHECK_MSG(tw_tokenizer_non_speech(bad, b, &nb, &err) == TW_OK, "%s", err.msg);
  /* Symmetric difference: the damaged set loses 873, 3268, gains 158, 220. */
  int32_t lost[8], gained[8];
  int n_lost = 0, n_gained = 0;
  for (int i = 0, j = 0; i < na || j < nb;) {
    if (j == nb || (i < na && a[i] < b[j])) {
      if (n_lost < 8) lost[n_lost] = a[i];
      n_lost++, i++;
    } else if (i == na || b[j] < a[i]) {
      if (n_gained < 8) gained[n_gained] = b[j];
      n_gained++, j++;
    } else {
      i++, j++;
    }
  }
  CHECK_MSG(n_lost == 2 && lost[0] == 873 && lost[1] == 3268, "lost %d", n_lost);
  CHECK_MSG(n_gained == 2 && gained[0] == 158 && gained[1] == 220, "gained %d", n_gained);
}

int main(void) {
  tw_whisper_model *m = NULL;
  tw_errbuf err;
  tw_test_vocab v;
  int rc = tw_whisper_model_load_ex(tw_test_data("for-tests-ggml-base.bin"), TW_LOAD_HEADER_ONLY,
                                    &m, &err);
  CHECK_MSG(rc == TW_OK, "%s", err.msg);
  CHECK(tw_test_vocab_load(tw_test_data("multilingual.tiktoken"), &v) == 0);
  tw_tokenizer *bad = NULL, *good = NULL;
  if (!rc) {
    rc = tw_tokenizer_create(m->token_bytes, m->token_lens, m->n_vocab_file, m->hp.n_vocab, &bad,
                             &err);
    CHECK_MSG(rc == TW_OK, "%s", err.msg);
  }
  CHECK(tw_tokenizer_create(v.bytes, v.lens, v.n, 51865, &good, &err) == TW_OK);
  if (bad && good) {
    test_detection(bad, good);
    test_encode(bad);
    test_non_speech(bad, good);
  }
  tw_tokenizer_destroy(bad);
  tw_tokenizer_destroy(good);
  tw_test_vocab_free(&v);
  tw_whisper_model_free(m);
  return tw_test_finish("test_tokenizer_damage");
}

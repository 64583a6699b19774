/* Special token ids for the three vocabulary sizes (expected values: the
 * table of the reference, whisper-decoding.md "Resulting ids"), their names,
 * and the language tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tw_test.h"
#include "tw_test_vocab.h"
#include "whisper/tokenizer.h"

typedef struct expected_ids {
  int32_t n_vocab, eot, sot, first_lang, last_lang, translate, transcribe, solm, prev, nosp, nots,
      beg, last_ts;
} expected_ids;

static const expected_ids k_table[] = {
  {51864, 50256, 50257, 50258, 50356, 50357, 50358, 50359, 50360, 50361, 50362, 50363, 51863},
  {51865, 50257, 50258, 50259, 50357, 50358, 50359, 50360, 50361, 50362, 50363, 50364, 51864},
  {51866, 50257, 50258, 50259, 50358, 50359, 50360, 50361, 50362, 50363, 50364, 50365, 51865},
};

static void test_ids(void) {
  for (int k = 0; k < 3; k++) {
    const expected_ids *e = &k_table[k];
    tw_special_tokens sp;
    tw_errbuf err;
    CHECK(tw_special_tokens_for(e->n_vocab, &sp, &err) == TW_OK);
    CHECK(sp.n_vocab == e->n_vocab && sp.multilingual == (k > 0));
    CHECK(sp.eot == e->eot && sp.sot == e->sot && sp.lang_begin == e->first_lang);
    CHECK(sp.lang_begin + sp.n_languages - 1 == e->last_lang);
    CHECK(sp.n_languages == (k == 2 ? 100 : 99));
    CHECK(sp.translate == e->translate && sp.transcribe == e->transcribe);
    CHECK(sp.sot_lm == e->solm && sp.sot_prev == e->prev && sp.no_speech == e->nosp);
    CHECK(sp.no_timestamps == e->nots && sp.timestamp_begin == e->beg);
    CHECK(sp.timestamp_begin + TW_N_TIMESTAMPS - 1 == e->last_ts && e->last_ts == e->n_vocab - 1);
    int32_t sup[6];
    CHECK(tw_special_always_suppressed(&sp, sup) == 6);
    CHECK(sup[0] == e->transcribe && sup[1] == e->translate && sup[2] == e->sot &&
          sup[3] == e->prev && sup[4] == e->solm && sup[5] == e->nosp);
  }
  static const int32_t bad[] = {0, -1, 51863, 51867, 50257, 1 << 20};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tw_special_tokens sp;
    tw_errbuf err;
    CHECK(tw_special_tokens_for(bad[i], &sp, &err) == TW_EINVAL);
    CHECK_MSG(strstr(err.msg, "n_vocab") != NULL, "%s", err.msg);
  }
}

/* Names as OpenAI's get_encoding() builds them; timestamps with Python's
 * f"{i * 0.02:.2f}", which C's %.2f of the same double reproduces. */
static void check_names(const tw_tokenizer *tok, const char *first_lang, const char *last_lang) {
  const tw_special_tokens *sp = tw_tokenizer_specials(tok);
  struct {
    int32_t id;
    const char *name;
  } fixed[] = {{sp->eot, "<|endoftext|>"},      {sp->sot, "<|startoftranscript|>"},
               {sp->lang_begin, first_lang},    {sp->lang_begin + sp->n_languages - 1, last_lang},
               {sp->translate, "<|translate|>"}, {sp->transcribe, "<|transcribe|>"},
               {sp->sot_lm, "<|startoflm|>"},   {sp->sot_prev, "<|startofprev|>"},
               {sp->no_speech, "<|nospeech|>"}, {sp->no_timestamps, "<|notimestamps|>"}};
  const char *b;
  size_t n;
  tw_errbuf err;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
    CHECK(tw_tokenizer_token_bytes(tok, fixed[i].id, &b, &n, &err) == TW_OK);
    CHECK_MSG(n == strlen(fixed[i].name) && !memcmp(b, fixed[i].name, n), "id %d: %.*s",
              (int)fixed[i].id, (int)n, b);
  }
  int bad_ts = 0;
  for (int i = 0; i < TW_N_TIMESTAMPS; i++) {
    char want[32];
    snprintf(want, sizeof want, "<|%.2f|>", i * 0.02);
    tw_tokenizer_token_bytes(tok, sp->timestamp_begin + i, &b, &n, &err);
    bad_ts += n != strlen(want) || memcmp(b, want, n);
  }
  CHECK_MSG(bad_ts == 0, "%d timestamp names differ", bad_ts);
  CHECK(tw_tokenizer_token_bytes(tok, sp->n_vocab, &b, &n, &err) == TW_ERANGE);
  CHECK(tw_tokenizer_token_bytes(tok, -1, &b, &n, &err) == TW_ERANGE);
  CHECK(tw_tokenizer_token_bytes(tok, 220, &b, &n, &err) == TW_OK && n == 1 && b[0] == ' ');
}

static void test_names(void) {
  const char *files[] = {"gpt2.tiktoken", "multilingual.tiktoken", "multilingual.tiktoken"};
  const char *last[] = {"<|su|>", "<|su|>", "<|yue|>"};
  for (int k = 0; k < 3; k++) {
    tw_test_vocab v;
    if (tw_test_vocab_load(tw_test_data(files[k]), &v)) {
      CHECK_MSG(0, "cannot load %s", files[k]);
      continue;
    }
    tw_tokenizer *tok;
    tw_errbuf err;
    int rc = tw_tokenizer_create(v.bytes, v.lens, v.n, k_table[k].n_vocab, &tok, &err);
    CHECK_MSG(rc == TW_OK, "%s", err.msg);
    if (!rc) check_names(tok, "<|en|>", last[k]);
    if (!rc) CHECK(!tw_tokenizer_damage(tok)->damaged);
    tw_tokenizer_destroy(tok);
    CHECK(tw_tokenizer_create(v.bytes, v.lens, -1, k_table[k].n_vocab, &tok, &err) == TW_EINVAL);
    CHECK(tw_tokenizer_create(NULL, NULL, v.n, k_table[k].n_vocab, &tok, &err) == TW_EINVAL);
    CHECK(tw_tokenizer_create(v.bytes, v.lens, v.n, 51000, &tok, &err) == TW_EINVAL && !tok);
    tw_test_vocab_free(&v);
  }
}

/* Files that also carry text for the special ids (some converters; the
 * synthetic models write "<i>" for all n_vocab ids): specials keep OpenAI's
 * names and the file's text for them never enters BPE. */
static void test_file_with_specials(void) {
  tw_test_vocab v;
  if (tw_test_vocab_load(tw_test_data("multilingual.tiktoken"), &v)) {
    CHECK_MSG(0, "cannot load multilingual.tiktoken");
    return;
  }
  const int32_t n_vocab = 51865;
  const char **bytes = calloc((size_t)n_vocab, sizeof *bytes);
  uint32_t *lens = calloc((size_t)n_vocab, sizeof *lens);
  memcpy(bytes, v.bytes, (size_t)v.n * sizeof *bytes);
  memcpy(lens, v.lens, (size_t)v.n * sizeof *lens);
  for (int32_t id = v.n; id < n_vocab; id++) bytes[id] = "Hello", lens[id] = 5;
  tw_tokenizer *tok = NULL;
  tw_errbuf err;
  int rc = tw_tokenizer_create(bytes, lens, n_vocab, n_vocab, &tok, &err);
  CHECK_MSG(rc == TW_OK, "%s", err.msg);
  if (!rc) {
    check_names(tok, "<|en|>", "<|su|>");
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(tw_tokenizer_encode(tok, "Hello", 5, 0, &ids, &n, &err) == TW_OK && n == 1 &&
          ids[0] == 15947);
    tw_free(ids);
  }
  tw_tokenizer_destroy(tok);
  /* More file tokens than n_vocab ids is malformed. */
  CHECK(tw_tokenizer_create(bytes, lens, n_vocab, n_vocab - 1, &tok, &err) == TW_EINVAL);
  CHECK_MSG(strstr(err.msg, "51865 vocabulary tokens for n_vocab 51864"), "%s", err.msg);
  free(bytes);
  free(lens);
  tw_test_vocab_free(&v);
}

static void test_languages(void) {
  /* A few positions of OpenAI's list, read off whisper/tokenizer.py. */
  CHECK(!strcmp(tw_language_code(0), "en") && !strcmp(tw_language_name(0), "english"));
  CHECK(!strcmp(tw_language_code(1), "zh") && !strcmp(tw_language_code(2), "de"));
  CHECK(!strcmp(tw_language_code(98), "su") && !strcmp(tw_language_code(99), "yue"));
  CHECK(!strcmp(tw_language_name(99), "cantonese"));
  CHECK(tw_language_code(100) == NULL && tw_language_code(-1) == NULL);
  int round_trip = 1;
  for (int i = 0; i < TW_N_LANGUAGES; i++) {
    round_trip &= tw_language_index(tw_language_code(i)) == i;
    round_trip &= tw_language_index(tw_language_name(i)) == i;
    for (int j = 0; j < i; j++) round_trip &= strcmp(tw_language_code(i), tw_language_code(j)) != 0;
  }
  CHECK_MSG(round_trip, "code/name -> index -> code is not the identity, or a code repeats");
  CHECK(tw_language_index("German") == 2 && tw_language_index("DE") == 2);
  CHECK(tw_language_index("mandarin") == 1 && tw_language_index("castilian") == 3);
  CHECK(tw_language_index("klingon") == -1 && tw_language_index("") == -1);

  tw_special_tokens en, multi, v3;
  tw_errbuf err;
  tw_special_tokens_for(51864, &en, &err);
  tw_special_tokens_for(51865, &multi, &err);
  tw_special_tokens_for(51866, &v3, &err);
  int32_t id = -1;
  CHECK(tw_language_token(&multi, "en", &id, &err) == TW_OK && id == 50259);
  CHECK(tw_language_token(&multi, "su", &id, &err) == TW_OK && id == 50357);
  CHECK(tw_language_token(&v3, "yue", &id, &err) == TW_OK && id == 50358);
  CHECK(tw_language_token(&multi, "yue", &id, &err) == TW_ENOTFOUND);
  CHECK_MSG(strstr(err.msg, "100 languages") != NULL, "%s", err.msg);
  CHECK(tw_language_token(&multi, "xx", &id, &err) == TW_ENOTFOUND);
  CHECK(tw_language_token(&en, "en", &id, &err) == TW_EUNSUPPORTED);
  CHECK_MSG(strstr(err.msg, "English-only") != NULL, "%s", err.msg);
  int all = 1;
  for (int i = 0; i < 100; i++) {
    all &= tw_language_token(&v3, tw_language_code(i), &id, &err) == TW_OK;
    all &= tw_language_of_token(&v3, id) == i && id == 50259 + i;
  }
  CHECK_MSG(all, "language token round trip on large-v3");
  CHECK(tw_language_of_token(&multi, multi.sot) == -1);
  CHECK(tw_language_of_token(&multi, multi.translate) == -1);
  CHECK(tw_language_of_token(&v3, v3.translate - 1) == 99);
}

int main(void) {
  test_ids();
  test_names();
  test_file_with_specials();
  test_languages();
  return tw_test_finish("test_tokenizer_special");
}

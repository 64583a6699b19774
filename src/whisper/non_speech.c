/* OpenAI's non_speech_tokens (SuppressTokens "-1"): the tokens of symbols
 * that mark speaker tags and sound annotations ("[DAVID]", "(music)", "♪"),
 * while plain punctuation stays allowed.  Built by encoding the symbols with
 * this vocabulary, so it is right for gpt2 and multilingual alike. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "whisper/tokenizer_impl.h"

/* Single characters, then multi-character symbols, as OpenAI lists them. */
static const char *const k_symbols[] = {
  "\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^", "_",
  "`", "{", "|", "}", "~", "\u300C", "\u300D", "\u300E", "\u300F", /* 「 」 『 』 */
  "<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))",
  "[[", "]]", "{{", "}}", "\u266A\u266A", "\u266A\u266A\u266A", /* ♪♪ ♪♪♪ */
};

/* U+2640-U+267F musical signs ♩♪♫♬♭♮♯: their 3-byte UTF-8 forms share the
 * first two bytes, so the first token is suppressed even when they split. */
static const char *const k_music[] = {"\u2669", "\u266A", "\u266B", "\u266C",
                                      "\u266D", "\u266E", "\u266F"};

typedef struct id_set {
  int32_t *ids;
  int n;
} id_set;

static void add(id_set *s, int32_t id) {
  for (int i = 0; i < s->n; i++)
    if (s->ids[i] == id) return;
  s->ids[s->n++] = id;
}

/* Adds encode(text)[0] when the encoding is one token, or always if `any`. */
static int add_first(const tw_tokenizer *tok, const char *text, int any, id_set *s,
                     tw_errbuf *err) {
  int32_t *ids;
  size_t n;
  int rc = tw_tokenizer_encode(tok, text, strlen(text), TW_ENCODE_BYTE_FALLBACK, &ids, &n, err);
  if (rc) return rc;
  if (n == 1 || (any && n >= 1)) add(s, ids[0]);
  tw_free(ids);
  return TW_OK;
}

/* Adds the symbol's entries: encode(sym) and encode(" " + sym). */
static int add_symbol(const tw_tokenizer *tok, const char *sym, int any, id_set *s,
                      tw_errbuf *err) {
  char spaced[32] = " ";
  strncat(spaced, sym, sizeof spaced - 2);
  int rc = add_first(tok, sym, any, s, err);
  return rc ? rc : add_first(tok, spaced, any, s, err);
}

static int cmp_id(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int tw_tokenizer_non_speech(const tw_tokenizer *tok, int32_t out[TW_NON_SPEECH_MAX], int *n,
                            tw_errbuf *err) {
  id_set s = {out, 0};
  int rc = TW_OK;
  *n = 0;
  /* " -" and " '": hyphens and quotes stay allowed inside words only. */
  int32_t *ids;
  size_t k;
  static const char *const k_word_start[] = {" -", " '"};
  for (int i = 0; i < 2 && !rc; i++) {
    if ((rc = tw_tokenizer_encode(tok, k_word_start[i], 2, TW_ENCODE_BYTE_FALLBACK, &ids, &k, err)))
      return rc;
    add(&s, ids[0]);
    tw_free(ids);
  }
  for (size_t i = 0; i < sizeof k_symbols / sizeof k_symbols[0] && !rc; i++)
    rc = add_symbol(tok, k_symbols[i], 0, &s, err);
  for (size_t i = 0; i < sizeof k_music / sizeof k_music[0] && !rc; i++)
    rc = add_symbol(tok, k_music[i], 1, &s, err);
  if (rc) return rc;
  qsort(out, (size_t)s.n, sizeof *out, cmp_id);
  *n = s.n;
  return TW_OK;
}

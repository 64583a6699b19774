/* BPE encoding and decoding on OpenAI's real vocabularies (the rank files in tests/data).
 * Expected values: the pre-split pieces and some ids come from Python (the
 * `regex` module with GPT-2's pattern, and a naive BPE over the rank files);
 * everything else is compared with a naive BPE written below, which shares
 * nothing with the library but the pre-splitter (itself checked first). */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "tw_test.h"
#include "tw_test_vocab.h"
#include "whisper/tokenizer_impl.h"

/* ---- pre-split against Python's regex module -------------------------------- */

typedef struct split_case {
  const char *text;
  int lens[16]; /* piece byte lengths, 0-terminated */
} split_case;

static const split_case k_splits[] = {
#include "tokenizer_split_cases.inc"
};

static void test_presplit(void) {
  for (size_t k = 0; k < sizeof k_splits / sizeof k_splits[0]; k++) {
    const unsigned char *s = (const unsigned char *)k_splits[k].text;
    size_t n = strlen(k_splits[k].text), at = 0;
    int i = 0, ok = 1;
    while (at < n && ok) {
      size_t len = tw__pretok_next(s + at, n - at);
      ok = len > 0 && k_splits[k].lens[i] == (int)len;
      at += len, i++;
    }
    CHECK_MSG(ok && k_splits[k].lens[i] == 0, "case %zu \"%s\": piece %d differs", k,
              k_splits[k].text, i - 1);
  }
  /* By hand: U+001C is not White_Space (Python's isspace says it is), and
   * U+00A0 / U+3000 are; a lone '\'' before a non-contraction is a symbol. */
  const char *t = "a\034b";
  CHECK(tw__pretok_next((const unsigned char *)t, 3) == 1);
  CHECK(tw__pretok_next((const unsigned char *)t + 1, 2) == 1);
  t = "\302\240\302\240x";
  CHECK(tw__pretok_next((const unsigned char *)t, 5) == 2);
  t = "'ve'x";
  CHECK(tw__pretok_next((const unsigned char *)t, 5) == 3);
  CHECK(tw__pretok_next((const unsigned char *)t + 3, 2) == 1);
}

/* ---- a naive reference BPE ------------------------------------------------- */

typedef struct ref_entry {
  const unsigned char *b;
  uint32_t len;
  int32_t id;
} ref_entry;

typedef struct ref_vocab {
  ref_entry *e;
  int32_t n;
} ref_vocab;

/* Bytes first (shorter prefix first), then id, so duplicates sort by id. */
static int cmp_bytes(const unsigned char *a, uint32_t na, const unsigned char *b, uint32_t nb) {
  int c = memcmp(a, b, na < nb ? na : nb);
  return c ? c : (na > nb) - (na < nb);
}

static int cmp_entry(const void *pa, const void *pb) {
  const ref_entry *a = pa, *b = pb;
  int c = cmp_bytes(a->b, a->len, b->b, b->len);
  return c ? c : (a->id > b->id) - (a->id < b->id);
}

static ref_vocab ref_build(const tw_test_vocab *v) {
  ref_vocab r = {calloc((size_t)v->n, sizeof(ref_entry)), 0};
  for (int32_t i = 0; i < v->n; i++)
    if (v->lens[i]) r.e[r.n++] = (ref_entry){(const unsigned char *)v->bytes[i], v->lens[i], i};
  qsort(r.e, (size_t)r.n, sizeof *r.e, cmp_entry);
  return r;
}

/* Lowest id holding exactly these bytes (first of equal entries), or -1. */
static int32_t ref_find(const ref_vocab *r, const unsigned char *s, uint32_t len) {
  int32_t lo = 0, hi = r->n; /* first entry not below the key */
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (cmp_bytes(r->e[mid].b, r->e[mid].len, s, len) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo < r->n && !cmp_bytes(r->e[lo].b, r->e[lo].len, s, len)) return r->e[lo].id;
  return -1;
}

/* Parts are (offset, length); each round scans every pair, merges the
 * lowest rank (first on ties) and starts over. */
static int ref_bpe_piece(const ref_vocab *r, const unsigned char *s, size_t n, int32_t *out) {
  int32_t whole = ref_find(r, s, (uint32_t)n);
  if (whole >= 0) return out[0] = whole, 1; /* tiktoken's shortcut */
  size_t off[512], len[512], m = n;
  if (n > 512) return 0; /* longer than any piece of the test texts: a mismatch */
  for (size_t i = 0; i < n; i++) off[i] = i, len[i] = 1;
  for (;;) {
    int32_t best = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < m; i++) {
      int32_t id = ref_find(r, s + off[i], (uint32_t)(len[i] + len[i + 1]));
      if (id >= 0 && (best < 0 || id < best)) best = id, at = i;
    }
    if (best < 0) break;
    len[at] += len[at + 1];
    for (size_t i = at + 1; i + 1 < m; i++) off[i] = off[i + 1], len[i] = len[i + 1];
    m--;
  }
  for (size_t i = 0; i < m; i++) out[i] = ref_find(r, s + off[i], (uint32_t)len[i]);
  return (int)m;
}

static size_t ref_encode(const ref_vocab *r, const char *text, size_t n, int32_t *out) {
  size_t count = 0;
  for (size_t at = 0; at < n;) {
    size_t piece = tw__pretok_next((const unsigned char *)text + at, n - at);
    count += (size_t)ref_bpe_piece(r, (const unsigned char *)text + at, piece, out + count);
    at += piece;
  }
  return count;
}

/* ---- comparisons ------------------------------------------------------------- */

typedef struct fixture {
  tw_test_vocab v;
  ref_vocab ref;
  tw_tokenizer *tok;
} fixture;

static int fixture_open(fixture *f, const char *file, int32_t n_vocab) {
  memset(f, 0, sizeof *f);
  tw_errbuf err;
  if (tw_test_vocab_load(tw_test_data(file), &f->v)) return -1;
  f->ref = ref_build(&f->v);
  int rc = tw_tokenizer_create(f->v.bytes, f->v.lens, f->v.n, n_vocab, &f->tok, &err);
  CHECK_MSG(rc == TW_OK, "%s", err.msg);
  return rc;
}

static void fixture_close(fixture *f) {
  tw_tokenizer_destroy(f->tok);
  free(f->ref.e);
  tw_test_vocab_free(&f->v);
}

/* Library encoding == reference encoding, and decoding gives the text back. */
static int check_text(const fixture *f, const char *text, size_t n) {
  int32_t *ids = NULL, *want = malloc((n + 1) * sizeof *want);
  size_t n_ids = 0, n_want = ref_encode(&f->ref, text, n, want), n_back = 0;
  char *back = NULL;
  tw_errbuf err;
  int ok = tw_tokenizer_encode(f->tok, text, n, 0, &ids, &n_ids, &err) == TW_OK;
  ok = ok && n_ids == n_want && (!n_ids || !memcmp(ids, want, n_ids * sizeof *ids));
  ok = ok && tw_tokenizer_decode(f->tok, ids, n_ids, 0, &back, &n_back, &err) == TW_OK;
  ok = ok && n_back == n && !memcmp(back, text, n) && back[n] == '\0';
  CHECK_MSG(ok, "\"%.*s\": %zu ids, reference %zu", (int)n, text, n_ids, n_want);
  tw_free(ids);
  tw_free(back);
  free(want);
  return ok;
}

/* ASCII, accents, CJK, emoji, whitespace runs, contractions, digits, symbols. */
static const char *const k_texts[] = {
  "Hello world",
  " Ask not what your country can do for you",
  " caf\303\251 na\303\257ve",
  " \346\227\245\346\234\254\350\252\236\343\201\256"
  "\343\203\206\343\202\255\343\202\271\343\203\210", /* 日本語のテキスト */
  " \360\237\221\215\360\237\217\275 ok",
  "  hello  world  ",
  "I'll don't 12345 we're they've",
  "\t\ttabs\n\n\nnewlines   \r\n",
  "\303\205ngstr\303\266m \303\274ber stra\303\237e \305\201\303\263d\305\272",
  "\320\237\321\200\320\270\320\262\320\265\321\202 \320\274\320\270\321\200",
  "3.14159 1,000,000 42%",
  "<|endoftext|> is ordinary text",
  "\342\231\252 music \342\231\251\342\231\253 [MUSIC] (laughs)",
  "\340\270\240\340\270\262\340\270\251\340\270\262\340\271\204\340\270\227\340\270\242",
  "e\314\201 \330\247\331\204\330\271\330\261\330\250\331\212\330\251 "
  "\327\242\327\221\327\250\327\231\327\252",
};

/* Characters to build random strings from: every class and UTF-8 length. */
static const char *const k_pool[] = {
  "a", "Z", "q", " ", " ", "  ", "\n", "\t", "'", "'s", "'ll", "1", "7", "0", ".", ",", "!", "-",
  "\303\251", "\303\237", "\316\261", "\320\266", "\327\251", "\330\250", "\340\244\250",
  "\340\245\215", "\346\227\245", "\343\201\256", "\355\225\234", "\360\237\230\200",
  "\360\237\221\215", "\342\231\252", "\302\240", "\343\200\200", "\342\205\253", "\302\275",
  "\360\220\215\210", "\000",
};

static void test_against_reference(const char *file, int32_t n_vocab) {
  fixture f;
  if (fixture_open(&f, file, n_vocab)) return;
  int bad = 0;
  for (size_t i = 0; i < sizeof k_texts / sizeof k_texts[0]; i++)
    bad += !check_text(&f, k_texts[i], strlen(k_texts[i]));
  tw_rng rng = {0x70CE};
  char buf[400];
  for (int t = 0; t < 300; t++) {
    size_t n = 0;
    int parts = tw_rng_range(&rng, 1, 40);
    for (int p = 0; p < parts; p++) {
      int k = tw_rng_range(&rng, 0, (int)(sizeof k_pool / sizeof k_pool[0]) - 1);
      size_t len = k_pool[k][0] ? strlen(k_pool[k]) : 1; /* the last entry is one NUL */
      memcpy(buf + n, k_pool[k], len);
      n += len;
    }
    bad += !check_text(&f, buf, n);
  }
  CHECK_MSG(bad == 0, "%s: %d texts differ from the reference", file, bad);
  fixture_close(&f);
}

/* Ids computed in Python from the rank files (naive BPE, regex module). */
static void check_ids(const tw_tokenizer *tok, const char *text, const int32_t *want, size_t n) {
  int32_t *ids;
  size_t n_ids;
  tw_errbuf err;
  int rc = tw_tokenizer_encode(tok, text, strlen(text), 0, &ids, &n_ids, &err);
  CHECK_MSG(rc == TW_OK && n_ids == n && !memcmp(ids, want, n * sizeof *ids), "\"%s\"", text);
  tw_free(ids);
}

static void test_known_ids(void) {
  fixture ml, g2;
  if (fixture_open(&ml, "multilingual.tiktoken", 51865) ||
      fixture_open(&g2, "gpt2.tiktoken", 51864))
    return;
  check_ids(ml.tok, " ", (const int32_t[]){220}, 1);
  check_ids(g2.tok, " ", (const int32_t[]){220}, 1);
  check_ids(ml.tok, "Hello world", (const int32_t[]){15947, 1002}, 2);
  check_ids(g2.tok, "Hello world", (const int32_t[]){15496, 995}, 2);
  check_ids(ml.tok, " Ask not what your country can do for you",
            (const int32_t[]){12320, 406, 437, 428, 1941, 393, 360, 337, 291}, 9);
  check_ids(ml.tok, " caf\303\251 na\303\257ve", (const int32_t[]){25118, 1667, 15487, 303}, 4);
  check_ids(g2.tok, " caf\303\251 na\303\257ve", (const int32_t[]){40304, 41492}, 2);
  check_ids(ml.tok, k_texts[3],
            (const int32_t[]){220, 27311, 31348, 2972, 22985, 15535, 40498}, 7);
  check_ids(ml.tok, " \360\237\221\215\360\237\217\275 ok",
            (const int32_t[]){36276, 235, 4222, 237, 121, 3133}, 6);
  check_ids(ml.tok, "  hello  world  ", (const int32_t[]){220, 7751, 220, 1002, 220, 220}, 6);
  check_ids(g2.tok, "I'll don't 12345", (const int32_t[]){40, 1183, 836, 470, 17031, 2231}, 6);
  fixture_close(&ml);
  fixture_close(&g2);
}

static void test_decode(void) {
  fixture f;
  if (fixture_open(&f, "multilingual.tiktoken", 51865)) return;
  const tw_special_tokens *sp = tw_tokenizer_specials(f.tok);
  char *text;
  size_t n;
  tw_errbuf err;
  /* "♩" is E2 99 A9: token 3268 holds E2 99 and 102 holds A9 (Python), so the
   * character spans two tokens and must come out whole. */
  int32_t *ids;
  size_t n_ids;
  CHECK(tw_tokenizer_encode(f.tok, "\342\231\251", 3, 0, &ids, &n_ids, &err) == TW_OK);
  CHECK(n_ids == 2 && ids[0] == 3268 && ids[1] == 102);
  CHECK(tw_tokenizer_decode(f.tok, ids, n_ids, 0, &text, &n, &err) == TW_OK);
  CHECK(n == 3 && !strcmp(text, "\342\231\251"));
  tw_free(text);
  tw_free(ids);
  /* Timestamps dropped (OpenAI's decode) or named; other specials named. */
  int32_t seq[] = {sp->sot, sp->lang_begin, sp->timestamp_begin, 15947, 1002,
                   sp->timestamp_begin + 54, sp->eot};
  CHECK(tw_tokenizer_decode(f.tok, seq, 7, 0, &text, &n, &err) == TW_OK);
  CHECK_MSG(!strcmp(text, "<|startoftranscript|><|en|>Hello world<|endoftext|>"), "%s", text);
  tw_free(text);
  CHECK(tw_tokenizer_decode(f.tok, seq, 7, TW_DECODE_TIMESTAMPS, &text, &n, &err) == TW_OK);
  CHECK_MSG(!strcmp(text, "<|startoftranscript|><|en|><|0.00|>Hello world<|1.08|><|endoftext|>"),
            "%s", text);
  tw_free(text);
  CHECK(tw_tokenizer_decode(f.tok, NULL, 0, 0, &text, &n, &err) == TW_OK && n == 0 && !*text);
  tw_free(text);
  int32_t bad[] = {15947, 51865};
  CHECK(tw_tokenizer_decode(f.tok, bad, 2, 0, &text, &n, &err) == TW_ERANGE && text == NULL);
  CHECK_MSG(strstr(err.msg, "51865") != NULL, "%s", err.msg);
  fixture_close(&f);
}

/* OpenAI's text is bytes.decode("utf-8", "replace"); expected outputs from
 * Python.  The inputs are spelled with single-byte tokens (ids 0-255 hold
 * the bytes in GPT-2's order). */
static void test_decode_replace(void) {
  static const struct {
    const char *in, *want;
  } cases[] = {
    {"ab\200c", "ab\357\277\275c"},
    {"\342\231", "\357\277\275"},
    {"\342\231A", "\357\277\275A"},
    {"\355\240\200", "\357\277\275\357\277\275\357\277\275"},
    {"\360\237\230", "\357\277\275"},
    {"\364\220\200\200", "\357\277\275\357\277\275\357\277\275\357\277\275"},
    {"\300\257", "\357\277\275\357\277\275"},
    {"\340\200\257", "\357\277\275\357\277\275\357\277\275"},
    {"\360\217\277\277", "\357\277\275\357\277\275\357\277\275\357\277\275"},
    {"x\342\231\252\342", "x\342\231\252\357\277\275"},
    {"\361\200\200\361\200", "\357\277\275\357\277\275"},
  };
  fixture f;
  if (fixture_open(&f, "multilingual.tiktoken", 51865)) return;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    int32_t ids[8];
    size_t n = strlen(cases[k].in), n_text = 0;
    for (size_t i = 0; i < n; i++) ids[i] = tw__gpt2_byte_id((unsigned char)cases[k].in[i]);
    char *text = NULL;
    tw_errbuf err;
    int rc = tw_tokenizer_decode(f.tok, ids, n, TW_DECODE_REPLACE_INVALID, &text, &n_text, &err);
    CHECK_MSG(rc == TW_OK && n_text == strlen(cases[k].want) && !strcmp(text, cases[k].want),
              "case %zu", k);
    tw_free(text);
    rc = tw_tokenizer_decode(f.tok, ids, n, 0, &text, &n_text, &err);
    CHECK_MSG(rc == TW_OK && n_text == n && !memcmp(text, cases[k].in, n), "raw case %zu", k);
    tw_free(text);
  }
  fixture_close(&f);
}

static void test_bad_utf8(void) {
  fixture f;
  if (fixture_open(&f, "multilingual.tiktoken", 51865)) return;
  static const struct {
    const char *s;
    size_t at;
  } bad[] = {/* lone continuation, overlong '/', surrogate, above U+10FFFF */
             {"ab\200", 2}, {"x\300\257", 1}, {"\355\240\200", 0}, {"ok \365\200\200\200", 3},
             /* cut 3- and 4-byte characters, invalid byte, overlong NUL */
             {"\342\202", 0}, {"\360\237\230", 0}, {"a\377b", 1}, {"\340\200\200", 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int32_t *ids = (int32_t *)1;
    size_t n_ids = 7;
    tw_errbuf err;
    char want[32];
    snprintf(want, sizeof want, "at byte %zu", bad[i].at);
    CHECK(tw_tokenizer_encode(f.tok, bad[i].s, strlen(bad[i].s), 0, &ids, &n_ids, &err) ==
          TW_EINVAL);
    CHECK_MSG(ids == NULL && n_ids == 0 && strstr(err.msg, want), "case %zu: %s", i, err.msg);
  }
  int32_t *ids;
  size_t n_ids;
  tw_errbuf err;
  CHECK(tw_tokenizer_encode(f.tok, "", 0, 0, &ids, &n_ids, &err) == TW_OK && n_ids == 0);
  fixture_close(&f);
}

static void test_non_speech(void) {
  /* OpenAI's rule computed in Python from the rank files. */
  static const int32_t want_ml[82] = {
    1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 359,
    503, 522, 542, 873, 893, 902, 918, 922, 931, 1350, 1853, 1982, 2460, 2627, 3246, 3253, 3268,
    3536, 3846, 3961, 4183, 4667, 6585, 6647, 7273, 9061, 9383, 10428, 10929, 11938, 12033,
    12331, 12562, 13793, 14157, 14635, 15265, 15618, 16553, 16604, 18362, 18956, 20075, 21675,
    22520, 26130, 26161, 26435, 28279, 29464, 31650, 32302, 32470, 36865, 42863, 47425, 49870,
    50254};
  static const int32_t want_g2[84] = {
    1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357,
    366, 438, 532, 685, 705, 796, 930, 1058, 1220, 1267, 1279, 1303, 1343, 1377, 1391, 1635,
    1782, 1875, 2162, 2361, 2488, 3467, 4008, 4211, 4600, 4808, 5299, 5855, 6329, 7203, 9609,
    9959, 10563, 10786, 11420, 11709, 11907, 13163, 13697, 13700, 14808, 15306, 16410, 16791,
    17992, 19203, 19510, 20724, 22305, 22935, 27007, 30109, 30420, 33409, 34949, 40283, 40493,
    40549, 47282, 49146};
  fixture ml, g2;
  if (fixture_open(&ml, "multilingual.tiktoken", 51866) ||
      fixture_open(&g2, "gpt2.tiktoken", 51864))
    return;
  int32_t got[TW_NON_SPEECH_MAX];
  int n = 0;
  tw_errbuf err;
  CHECK(tw_tokenizer_non_speech(ml.tok, got, &n, &err) == TW_OK);
  CHECK_MSG(n == 82 && !memcmp(got, want_ml, sizeof want_ml), "multilingual: %d ids", n);
  CHECK(tw_tokenizer_non_speech(g2.tok, got, &n, &err) == TW_OK);
  CHECK_MSG(n == 84 && !memcmp(got, want_g2, sizeof want_g2), "gpt2: %d ids", n);
  fixture_close(&ml);
  fixture_close(&g2);
}

/* Every allocation of create, encode and decode can fail cleanly. */
static void test_alloc_failures(void) {
  tw_test_vocab v;
  if (tw_test_vocab_load(tw_test_data("multilingual.tiktoken"), &v)) return;
  tw_errbuf err;
  int failed = 0;
  for (long k = 1; k <= 8; k++) {
    tw_tokenizer *tok = NULL;
    tw_mem_fail_after(k);
    int rc = tw_tokenizer_create(v.bytes, v.lens, v.n, 51865, &tok, &err);
    tw_mem_fail_after(0);
    if (rc) {
      failed++;
      CHECK(rc == TW_ENOMEM && tok == NULL);
      continue;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    char *text = NULL;
    tw_mem_fail_after(1);
    CHECK(tw_tokenizer_encode(tok, "Hello world", 11, 0, &ids, &n, &err) == TW_ENOMEM && !ids);
    tw_mem_fail_after(2);
    CHECK(tw_tokenizer_encode(tok, "Hello world", 11, 0, &ids, &n, &err) == TW_ENOMEM && !ids);
    tw_mem_fail_after(1);
    CHECK(tw_tokenizer_decode(tok, (const int32_t[]){220}, 1, 0, &text, &n, &err) == TW_ENOMEM);
    tw_mem_fail_after(0);
    tw_tokenizer_destroy(tok);
  }
  CHECK(failed == 4); /* object, hash map, name offsets, names */
  tw_test_vocab_free(&v);
}

/* The budget: a 223-token prompt in well under 1 ms, the tokenizer in well
 * under 50 ms.  Timed loosely here (sanitizer builds are several times
 * slower); the release figures are in the report. */
static void test_speed(void) {
  tw_test_vocab v;
  if (tw_test_vocab_load(tw_test_data("multilingual.tiktoken"), &v)) return;
  tw_errbuf err;
  tw_tokenizer *tok = NULL;
  double t0 = tw_now();
  int rc = tw_tokenizer_create(v.bytes, v.lens, v.n, 51865, &tok, &err);
  double t_create = tw_now() - t0;
  CHECK(rc == TW_OK);
  /* A mixed-script prompt (few whole-word tokens, many merges) of >= 223 tokens. */
  char prompt[4096] = "";
  size_t n = 0;
  for (size_t i = 0; n < 223 && !rc; i++) {
    strcat(prompt, k_texts[i % (sizeof k_texts / sizeof k_texts[0])]);
    int32_t *probe = NULL;
    rc = tw_tokenizer_encode(tok, prompt, strlen(prompt), 0, &probe, &n, &err);
    tw_free(probe);
  }
  int32_t *ids = NULL;
  double best = 1e9;
  for (int r = 0; r < 20 && !rc; r++) {
    tw_free(ids);
    t0 = tw_now();
    rc = tw_tokenizer_encode(tok, prompt, strlen(prompt), 0, &ids, &n, &err);
    double t = tw_now() - t0;
    best = t < best ? t : best;
  }
  printf("create %.2f ms, encode of %zu tokens %.3f ms\n", t_create * 1e3, n, best * 1e3);
  CHECK(n >= 223);
  CHECK_MSG(t_create < 0.25 && best < 0.005, "create %.1f ms, encode %.3f ms", t_create * 1e3,
            best * 1e3);
  tw_free(ids);
  tw_tokenizer_destroy(tok);
  tw_test_vocab_free(&v);
}

int main(void) {
  test_presplit();
  test_against_reference("multilingual.tiktoken", 51865);
  test_against_reference("gpt2.tiktoken", 51864);
  test_known_ids();
  test_decode();
  test_decode_replace();
  test_bad_utf8();
  test_non_speech();
  test_alloc_failures();
  test_speed();
  return tw_test_finish("test_tokenizer_bpe");
}

/* compression_ratio against Python's zlib, and the text helpers it is
 * computed over (UTF-8 repair as bytes.decode("utf-8", "replace"), and
 * str.strip()). Every expected value was printed by python3 3.11 with zlib
 * 1.2.13 using the command quoted beside it. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "scripted_source.h"
#include "tw_test.h"
#include "whisper/compression.h"
#include "whisper/token_text.h"

static void check_ratio(const char *text, size_t n, double want) {
  double r = -1;
  CHECK(tw_compression_ratio(text, n, &r, NULL) == TW_OK);
  CHECK_MSG(r == want, "ratio of %zu bytes: %.17g, Python %.17g", n, r, want);
}

static void test_ratio(void) {
  /* python3 -c 'import sys,zlib; b=sys.argv[1].encode(); print(repr(len(b)/len(zlib.compress(b))))'
   * "$s" */
  check_ratio("", 0, 0.0);                 /* 0 / 8 */
  check_ratio("a", 1, 0.1111111111111111); /* 1 / 9 */
  check_ratio("hello world", 11, 0.5789473684210527);
  const char *rep = " the the the the the the the the the the the the the the the the";
  check_ratio(rep, strlen(rep), 4.266666666666667); /* 64 / 15: above 2.4, a fallback */
  const char *jfk = "And so, my fellow Americans, ask not what your country can do for you, "
                    "ask what you can do for your country.";
  check_ratio(jfk, strlen(jfk), 1.35); /* 108 / 80 */
  const char *utf = "\xC3\xA9\xE2\x99\xAA \xC3\xBCn\xC3\xAF\x63\xC3\xB6"
                    "d\xC3\xA9 \xE2\x99\xAA\xC3\xA9";
  check_ratio(utf, strlen(utf), 0.7419354838709677); /* 'é♪ ünïcödé ♪é': 23 / 31 */
  /* python3 -c 'import zlib; b="".join("w%d " % ((i*i*31+7*i) % 97) for i in range(300)).encode();
   *             print(repr(len(b)/len(zlib.compress(b))))'   -> 1167 / 185 */
  char big[2000];
  size_t n = 0;
  for (int i = 0; i < 300; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "w%d ", (i * i * 31 + 7 * i) % 97);
  CHECK(n == 1167);
  check_ratio(big, n, 6.308108108108108);

  double r;
  CHECK(tw_compression_ratio(NULL, 3, &r, NULL) == TW_EINVAL);
  tw_mem_fail_after(1); /* zlib's own state comes from the project allocator */
  CHECK(tw_compression_ratio("abc", 3, &r, NULL) == TW_ENOMEM);
  tw_mem_fail_after(0);
}

/* python3 -c 'print(b"...".decode("utf-8", "replace").encode())' */
static void check_repair(const char *in, size_t n, const char *want) {
  char out[64];
  size_t o = tw_utf8_repair((const unsigned char *)in, n, out);
  CHECK_MSG(o == strlen(want) && !memcmp(out, want, o), "repair of %zu bytes", n);
}

#define R "\xEF\xBF\xBD" /* U+FFFD */

static void test_repair(void) {
  check_repair("\xE2\x99 x\xAA\xC3", 6, R " x" R R);
  check_repair("\xED\xA0\x80"
               "a",
               4, R R R "a");                   /* a surrogate: each byte */
  check_repair("\xF0\x9F\x98", 3, R);           /* a truncated 4-byte form: one */
  check_repair("\xC0\xAF", 2, R R);             /* overlong */
  check_repair("\xF4\x90\x80\x80", 4, R R R R); /* above U+10FFFF */
  check_repair("ab\xE2\x99\xAA", 5, "ab\xE2\x99\xAA");
  check_repair("\xE0\x80\xAF", 3, R R R);
  check_repair("\xF1\x80\x80", 3, R);
}

/* python3 -c 'print(repr(s.strip()))' */
static void check_strip(const char *s, const char *want) {
  size_t b, e;
  tw_utf8_strip(s, strlen(s), &b, &e);
  CHECK_MSG(e - b == strlen(want) && !memcmp(s + b, want, e - b), "strip of \"%s\"", s);
}

static void test_strip(void) {
  check_strip("\xE3\x80\x80 hi\xC2\xA0\n", "hi"); /* U+3000, NBSP */
  check_strip(" \x1C\x1Fx\xE2\x80\xA8", "x");     /* separators, U+2028 */
  check_strip("\xE2\x80\x8B x \xE2\x80\x8B",
              "\xE2\x80\x8B x \xE2\x80\x8B"); /* U+200B is not space */
  check_strip("   ", "");
  check_strip("", "");
}

static void test_tokens_text(void) {
  tw_token_text tt = sc_text();
  /* " a", "♪" split over two tokens, EOT, a timestamp, " b", "é": the
   * specials and timestamps carry no text; the split character joins. */
  const int32_t toks[] = {0, 37, 38, SC_EOT, SC_TB + 5, 1, 36};
  char *text;
  size_t n;
  CHECK(tw_tokens_text(&tt, toks, 7, SC_EOT, &text, &n, NULL) == TW_OK);
  const char *want = " a\xE2\x99\xAA b\xC3\xA9";
  CHECK(n == strlen(want) && !strcmp(text, want));
  tw_free(text);
  /* Half a character at the end: one U+FFFD, as Python's "replace". */
  CHECK(tw_tokens_text(&tt, toks, 2, SC_EOT, &text, &n, NULL) == TW_OK);
  CHECK(!strcmp(text, " a" R));
  tw_free(text);
  CHECK(tw_tokens_text(&tt, toks, 0, SC_EOT, &text, &n, NULL) == TW_OK);
  CHECK(n == 0 && text && text[0] == '\0');
  tw_free(text);
}

int main(void) {
  test_ratio();
  test_repair();
  test_strip();
  test_tokens_text();
  return tw_test_finish("test_compression");
}

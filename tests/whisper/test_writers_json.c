/* The json writer: Python's float repr, string escaping, the key order and
 * separators of json.dump, against a hand-written expected file; then
 * Python itself (tests/whisper/writers_json_check.py) loads the files
 * strictly and compares every field with values it builds on its own. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tw_test.h"
#include "whisper/writer_out.h"
#include "whisper/writers.h"

/* repr() of each value, as Python 3 prints it. */
static void test_float_repr(void) {
  static const struct {
    double x;
    const char *want;
  } cases[] = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.0, "1.0"},
      {100.0, "100.0"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {2.0 / 3.0, "0.6666666666666666"},
      {0.1 + 0.2, "0.30000000000000004"},
      {(double)0.1f, "0.10000000149011612"},
      {-0.2876543253660202, "-0.2876543253660202"},
      {123456.789, "123456.789"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {1e16, "1e+16"},
      {1e22, "1e+22"},
      {1.5e300, "1.5e+300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.0001, "0.0001"},
      {0.00012345, "0.00012345"},
      {1e-05, "1e-05"},
      {-2.5e-7, "-2.5e-07"},
      {5e-324, "5e-324"},
      {1.5e-323, "1.5e-323"},
      /* powers of two where the correctly rounded 16 digits do not read back
       * but one unit more does: repr keeps 16 digits */
      {0x1p-1017, "7.120236347223045e-307"},
      {-0x1p-808, "-5.858190679279809e-244"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[TW_FLOAT_REPR_MAX];
    int n = tw_py_float_repr(cases[i].x, buf);
    CHECK_MSG(n == (int)strlen(cases[i].want) && strcmp(buf, cases[i].want) == 0,
              "repr(%.17g): got '%s', want '%s'", cases[i].x, buf, cases[i].want);
  }
}

static tw_token_info tok3[3] = {{.id = 50364}, {.id = 1012}, {.id = 50489}};
static tw_segment esc_segs[2];

/* Quotes, backslash, controls, DEL, UTF-8, an ill-formed byte, "/"; floats
 * in both notations, -0.0 and NaN. */
static tw_transcript escapes_case(void) {
  memset(esc_segs, 0, sizeof esc_segs);
  esc_segs[0] = (tw_segment){.id = 0, .seek = 0, .start = 0.0, .end = 2.5,
                             .text = (char *)" Caf\xC3\xA9 --> \"x\"", .tokens = tok3, .n_tokens = 3,
                             .temperature = 0.2, .avg_logprob = -0.2876543253660202,
                             .compression_ratio = 1e-05, .no_speech_prob = NAN};
  esc_segs[1] = (tw_segment){.id = 1, .seek = 250, .start = 2.5, .end = 1e16, .text = (char *)"",
                             .temperature = 0.0, .avg_logprob = -0.0, .compression_ratio = 1e15,
                             .no_speech_prob = 5e-324};
  tw_transcript t;
  memset(&t, 0, sizeof t);
  memcpy(t.language, "de", 3);
  t.text = (char *)" He said \"hi\" \\ \n\t\x01\x1f\x7f Caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80 "
                   "\xFF\b\f\r/";
  t.segments = esc_segs;
  t.n_segments = 2;
  return t;
}

static const char escapes_json[] =
    "{\"text\": \" He said \\\"hi\\\" \\\\ \\n\\t\\u0001\\u001f\x7f Caf\xC3\xA9 \xE6\x97\xA5 "
    "\xF0\x9F\x98\x80 \xEF\xBF\xBD\\b\\f\\r/\", "
    "\"segments\": [{\"id\": 0, \"seek\": 0, \"start\": 0.0, \"end\": 2.5, "
    "\"text\": \" Caf\xC3\xA9 --> \\\"x\\\"\", \"tokens\": [50364, 1012, 50489], "
    "\"temperature\": 0.2, \"avg_logprob\": -0.2876543253660202, \"compression_ratio\": 1e-05, "
    "\"no_speech_prob\": null}, "
    "{\"id\": 1, \"seek\": 250, \"start\": 2.5, \"end\": 1e+16, \"text\": \"\", \"tokens\": [], "
    "\"temperature\": 0.0, \"avg_logprob\": -0.0, \"compression_ratio\": 1000000000000000.0, "
    "\"no_speech_prob\": 5e-324}], \"language\": \"de\"}";

static int write_file(const char *path, const tw_transcript *t) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  tw_errbuf err = {{0}};
  int rc = tw_write_transcript(f, t, TW_OUTPUT_JSON, &err);
  if (rc) fprintf(stderr, "%s: %s\n", path, err.msg);
  return fclose(f) || rc ? -1 : 0;
}

static void test_escapes(void) {
  tw_transcript t = escapes_case();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  tw_errbuf err = {{0}};
  CHECK(tw_write_transcript(f, &t, TW_OUTPUT_JSON, &err) == 0);
  fclose(f);
  CHECK_MSG(buf && strcmp(buf, escapes_json) == 0, "\n--- got ---\n%s\n--- want ---\n%s", buf,
            escapes_json);
  free(buf);
}

/* Random bit patterns cover every exponent, every other value a power of
 * two (where shortest digits are hardest); the .hex file gives Python the
 * exact doubles to compare against what it parses. */
#define N_RANDOM_SEGS 100
static int write_random_case(const char *json_path, const char *hex_path) {
  static tw_segment segs[N_RANDOM_SEGS];
  tw_rng rng = {20261202};
  FILE *hex = fopen(hex_path, "w");
  if (!hex) return -1;
  for (int i = 0; i < N_RANDOM_SEGS; i++) {
    double v[6];
    for (int k = 0; k < 6; k++) {
      do {
        uint64_t bits = tw_rng_next(&rng);
        memcpy(&v[k], &bits, sizeof v[k]);
      } while (!isfinite(v[k]));
      if (k % 2) v[k] = copysign(ldexp(1.0, tw_rng_range(&rng, -1074, 1023)), v[k]);
      uint64_t bits;
      memcpy(&bits, &v[k], sizeof bits);
      fprintf(hex, "%016llx\n", (unsigned long long)bits);
    }
    segs[i] = (tw_segment){.id = i, .seek = 3000LL * i, .start = v[0], .end = v[1],
                           .text = (char *)"r", .temperature = v[2], .avg_logprob = v[3],
                           .compression_ratio = v[4], .no_speech_prob = v[5]};
  }
  if (fclose(hex)) return -1;
  tw_transcript t;
  memset(&t, 0, sizeof t);
  memcpy(t.language, "en", 3);
  t.segments = segs;
  t.n_segments = N_RANDOM_SEGS;
  return write_file(json_path, &t);
}

/* Random texts from fragments chosen to trip the text rules: whitespace
 * Python strips (and U+200B, which it keeps), JSON escapes, "-->", tabs,
 * valid UTF-8 and stray or truncated multi-byte pieces.  Times land on
 * 0.5 ms often so rounding is exercised.  Python rebuilds every format from
 * the raw bytes in the .hex file. */
#define N_FUZZ_SEGS 300
static const char *const fragments[] = {
    "a", "Z", " ", "  ", "\t", "\n", "\r", "\x01", "\x1f", "\"", "\\", "/", "\x7f", "-", ">",
    "-->", "--->", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "\xE3\x80\x80",
    "\xC2\xA0", "\xC2\x85", "\xE2\x80\xA8", "\xE2\x80\x8B", "\xEF\xBF\xBD", "\xE0",
    "\xED", "\xF4", "\xF0", "\xC0", "\xC2", "\xE2\x82", "\xF0\x9F\x98", "\x80", "\xBF", "\xFF",
    "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF0\x80\x80\x80", "\xF8\x88\x80"};
#define N_FRAGMENTS (sizeof fragments / sizeof fragments[0])

static int write_fuzz_case(const char *dir) {
  static tw_segment segs[N_FUZZ_SEGS];
  static char texts[N_FUZZ_SEGS][64];
  tw_rng rng = {77};
  char path[300];
  snprintf(path, sizeof path, "%s/fuzz.hex", dir);
  FILE *hex = fopen(path, "w");
  if (!hex) return -1;
  double t0 = 0;
  for (int i = 0; i < N_FUZZ_SEGS; i++) {
    size_t len = 0;
    for (int k = tw_rng_range(&rng, 0, 10); k > 0; k--) {
      const char *fr = fragments[tw_rng_range(&rng, 0, (int)N_FRAGMENTS - 1)];
      memcpy(texts[i] + len, fr, strlen(fr));
      len += strlen(fr);
    }
    texts[i][len] = '\0';
    for (size_t b = 0; b < len; b++) fprintf(hex, "%02x", (unsigned char)texts[i][b]);
    fputc('\n', hex);
    double d = tw_rng_range(&rng, 0, 4) == 0 ? 0.0005 * (2 * tw_rng_range(&rng, 0, 9999) + 1)
                                             : tw_rng_uniform(&rng) * 30.0;
    segs[i] = (tw_segment){.id = i, .start = t0, .end = t0 + d, .text = texts[i]};
    t0 += d * (double)tw_rng_range(&rng, 0, 3) * 9.0;
  }
  if (fclose(hex)) return -1;
  tw_transcript t;
  memset(&t, 0, sizeof t);
  t.segments = segs;
  t.n_segments = N_FUZZ_SEGS;
  t.text = texts[7];
  static const char *ext[] = {"txt", "vtt", "srt", "tsv", "json"};
  for (int f = 0; f < 5; f++) {
    snprintf(path, sizeof path, "%s/fuzz.%s", dir, ext[f]);
    FILE *out = fopen(path, "w");
    if (!out) return -1;
    tw_errbuf err = {{0}};
    int rc = tw_write_transcript(out, &t, (tw_output_format)f, &err);
    if (rc) fprintf(stderr, "%s: %s\n", path, err.msg);
    if (fclose(out) || rc) return -1;
  }
  return 0;
}

static void test_python_check(void) {
  char dir[] = "/tmp/tw_writers_json_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[4][256];
  static const char *names[4] = {"escapes.json", "empty.json", "random.json", "random.hex"};
  for (int i = 0; i < 4; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
  tw_transcript t = escapes_case();
  CHECK(write_file(path[0], &t) == 0);
  tw_transcript empty;
  memset(&empty, 0, sizeof empty);
  memcpy(empty.language, "ja", 3);
  CHECK(write_file(path[1], &empty) == 0);
  CHECK(write_random_case(path[2], path[3]) == 0);
  CHECK(write_fuzz_case(dir) == 0);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "python3 '%s' '%s'", tw_test_data("../whisper/writers_json_check.py"),
           dir);
  int st = system(cmd);
  CHECK_MSG(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "'%s' exited with status %d", cmd, st);
  for (int i = 0; i < 4; i++) unlink(path[i]);
  static const char *fuzz[] = {"hex", "txt", "vtt", "srt", "tsv", "json"};
  for (int i = 0; i < 6; i++) {
    char p[300];
    snprintf(p, sizeof p, "%s/fuzz.%s", dir, fuzz[i]);
    unlink(p);
  }
  CHECK(rmdir(dir) == 0);
}

int main(void) {
  test_float_repr();
  test_escapes();
  test_python_check();
  return tw_test_finish("test_writers_json");
}

/* Text output formats (txt, vtt, srt, tsv), timestamps, format names, output
 * paths and atomic files.  Every expected string below is written by hand
 * from OpenAI's whisper/utils.py rules; where Python's rounding decides a
 * value, the Python expression that gives it is quoted next to it. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_test.h"
#include "whisper/writers.h"

static tw_segment seg(double start, double end, const char *text) {
  tw_segment s;
  memset(&s, 0, sizeof s);
  s.start = start;
  s.end = end;
  s.text = (char *)text;
  return s;
}

/* Writes t in fmt to memory; returns the bytes (caller frees) or NULL. */
static char *render(const tw_transcript *t, tw_output_format fmt, int *rc, tw_errbuf *err) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  *rc = tw_write_transcript(f, t, fmt, err);
  fclose(f);
  return buf;
}

static void check_render(const tw_transcript *t, tw_output_format fmt, const char *want,
                         const char *what) {
  tw_errbuf err = {{0}};
  int rc = -100;
  char *got = render(t, fmt, &rc, &err);
  CHECK_MSG(rc == 0, "%s: rc %d %s", what, rc, err.msg);
  CHECK_MSG(got && strcmp(got, want) == 0, "%s:\n--- got ---\n%s\n--- want ---\n%s", what,
            got ? got : "(null)", want);
  free(got);
}

static void test_format_names(void) {
  static const char *names[] = {"txt", "vtt", "srt", "tsv", "json", "all"};
  static const tw_output_format want[] = {TW_OUTPUT_TXT, TW_OUTPUT_VTT, TW_OUTPUT_SRT,
                                          TW_OUTPUT_TSV, TW_OUTPUT_JSON, TW_OUTPUT_ALL};
  for (int i = 0; i < 6; i++) {
    tw_output_format f = (tw_output_format)-1;
    tw_errbuf err = {{0}};
    CHECK_MSG(tw_output_format_parse(names[i], &f, &err) == 0 && f == want[i], "%s", names[i]);
    CHECK(strcmp(tw_output_format_name(want[i]), names[i]) == 0);
  }
  const char *bad[] = {"xml", "SRT", "", "json "};
  for (int i = 0; i < 4; i++) {
    tw_output_format f = TW_OUTPUT_TXT;
    tw_errbuf err = {{0}};
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
    CHECK(tw_output_format_parse(bad[i], &f, &err) == TW_EINVAL);
    CHECK_MSG(strstr(err.msg, quoted) != NULL, "message names %s: %s", quoted, err.msg);
  }
  tw_output_format f;
  CHECK(tw_output_format_parse(NULL, &f, NULL) == TW_EINVAL);
  CHECK(tw_output_format_name((tw_output_format)7) == NULL);
}

static void test_timestamps(void) {
  static const struct {
    double s;
    int hours;
    char marker;
    const char *want;
  } cases[] = {
      {0.0, 0, '.', "00:00.000"},
      {-0.0, 0, '.', "00:00.000"}, /* Python: -0.0 >= 0 holds */
      {0.0, 1, ',', "00:00:00,000"},
      {1.0625, 1, ',', "00:00:01,062"},  /* 1062.5 exactly: half to even */
      {1.1875, 0, '.', "00:01.188"},     /* 1187.5 exactly: half to even */
      {0.0005, 0, '.', "00:00.000"},     /* round(0.0005 * 1000.0) == 0 */
      {59.9995, 0, '.', "01:00.000"},    /* round(59.9995 * 1000.0) == 60000 */
      {3599.999, 0, '.', "59:59.999"},
      {3599.9995, 0, '.', "01:00:00.000"}, /* round(3599.9995 * 1000.0) == 3600000 */
      {3600.0, 0, '.', "01:00:00.000"},
      {3725.123, 0, '.', "01:02:05.123"},
      {3725.123, 1, ',', "01:02:05,123"},
      {360000.0, 0, '.', "100:00:00.000"}, /* hours grow past two digits */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[TW_TIMESTAMP_MAX];
    int n = tw_format_timestamp(cases[i].s, cases[i].hours, cases[i].marker, buf, sizeof buf);
    CHECK_MSG(n == (int)strlen(cases[i].want) && strcmp(buf, cases[i].want) == 0,
              "%.17g s: got '%s' (%d), want '%s'", cases[i].s, n > 0 ? buf : "", n, cases[i].want);
  }
  char buf[TW_TIMESTAMP_MAX];
  CHECK(tw_format_timestamp(-0.001, 0, '.', buf, sizeof buf) == TW_EINVAL);
  CHECK(tw_format_timestamp(NAN, 0, '.', buf, sizeof buf) == TW_EINVAL);
  CHECK(tw_format_timestamp(INFINITY, 0, '.', buf, sizeof buf) == TW_EINVAL);
  CHECK(tw_format_timestamp(2e12, 0, '.', buf, sizeof buf) == TW_ERANGE);
  CHECK(tw_format_timestamp(1.0, 0, '.', buf, 9) == TW_EOVERFLOW);  /* needs 10 with NUL */
  CHECK(tw_format_timestamp(1.0, 0, '.', buf, 10) == 9);
}

/* Five segments: numbering, a leading space, the hour rollover, an empty
 * text, "-->" (and Python's left-to-right replace of "--->"), UTF-8
 * (accents, CJK, emoji) with Unicode whitespace around it, a tab. */
static tw_segment demo_segs[5];
static tw_transcript demo(void) {
  demo_segs[0] = seg(0.0, 2.5, " Hello, world.");
  demo_segs[1] = seg(3599.9995, 3600.0, " Arrows --> and ---> here ");
  demo_segs[2] = seg(3600.0, 3725.123, "");
  demo_segs[3] = seg(3725.123, 3726.0, "\xE3\x80\x80 Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC "
                                       "\xF0\x9F\x98\x80\xC2\xA0\n");
  demo_segs[4] = seg(3726.0, 3727.1875, "\ttab\there\t");
  tw_transcript t;
  memset(&t, 0, sizeof t);
  memcpy(t.language, "en", 3);
  t.segments = demo_segs;
  t.n_segments = 5;
  return t;
}

static void test_demo_formats(void) {
  tw_transcript t = demo();
  check_render(&t, TW_OUTPUT_TXT,
               "Hello, world.\n"
               "Arrows --> and ---> here\n"
               "\n"
               "Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n"
               "tab\there\n",
               "txt");
  check_render(&t, TW_OUTPUT_SRT,
               "1\n00:00:00,000 --> 00:00:02,500\nHello, world.\n\n"
               "2\n01:00:00,000 --> 01:00:00,000\nArrows -> and --> here\n\n"
               "3\n01:00:00,000 --> 01:02:05,123\n\n\n"
               "4\n01:02:05,123 --> 01:02:06,000\nCaf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n\n"
               "5\n01:02:06,000 --> 01:02:07,188\ntab\there\n\n",
               "srt");
  check_render(&t, TW_OUTPUT_VTT,
               "WEBVTT\n\n"
               "00:00.000 --> 00:02.500\nHello, world.\n\n"
               "01:00:00.000 --> 01:00:00.000\nArrows -> and --> here\n\n"
               "01:00:00.000 --> 01:02:05.123\n\n\n"
               "01:02:05.123 --> 01:02:06.000\nCaf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n\n"
               "01:02:06.000 --> 01:02:07.188\ntab\there\n\n",
               "vtt");
  check_render(&t, TW_OUTPUT_TSV,
               "start\tend\ttext\n"
               "0\t2500\tHello, world.\n"
               "3600000\t3600000\tArrows --> and ---> here\n"
               "3600000\t3725123\t\n"
               "3725123\t3726000\tCaf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n"
               "3726000\t3727188\ttab here\n",
               "tsv");
}

/* VTT writes hours per timestamp: a cue can start without them and end with. */
static void test_vtt_mixed_hours(void) {
  tw_segment s[2] = {seg(3599.5, 3600.5, "across"), seg(59.9995, 61.0625, " x")};
  tw_transcript t = {.segments = s, .n_segments = 2};
  check_render(&t, TW_OUTPUT_VTT,
               "WEBVTT\n\n59:59.500 --> 01:00:00.500\nacross\n\n01:00.000 --> 01:01.062\nx\n\n",
               "vtt mixed hours");
}

static void test_tsv_rounding(void) {
  /* round(1000 * x) in Python: 1062.5 -> 1062, 1187.5 -> 1188, 0.0005 -> 0,
   * round(1000 * 2.0005) == 2001, negative times pass through */
  tw_segment s[3] = {seg(1.0625, 1.1875, "a"), seg(0.0005, 2.0005, "b"), seg(-0.0625, 0.1, "c")};
  tw_transcript t = {.segments = s, .n_segments = 3};
  check_render(&t, TW_OUTPUT_TSV, "start\tend\ttext\n1062\t1188\ta\n0\t2001\tb\n-62\t100\tc\n",
               "tsv rounding");
}

/* Unicode whitespace is stripped as str.strip() does; U+200B is not
 * whitespace for Python and stays.  Ill-formed bytes become U+FFFD. */
static void test_strip_and_invalid_utf8(void) {
  tw_segment s[4] = {
      seg(0, 1, "\xE2\x80\x83\xE3\x81\x93\xE3\x82\x93\xE2\x80\xA8\x1f"), /* U+2003 こん U+2028 US */
      seg(1, 2, "\xE2\x80\x8Bzw\xE2\x80\x8B"),                           /* U+200B kept */
      seg(2, 3, " a\xFF" "b\xE2\x82 "),                                  /* 0xFF, cut E2 82 */
      /* b"\xe2\x82A\xed\xa0\x80|\xc0\xaf|\xf0\x9f\x98".decode("utf-8", "replace")
       * == "\ufffdA\ufffd\ufffd\ufffd|\ufffd\ufffd|\ufffd" (surrogate and overlong
       * lead bytes end their sequence at once) */
      seg(3, 4, "\xE2\x82" "A\xED\xA0\x80|\xC0\xAF|\xF0\x9F\x98"),
  };
  tw_transcript t = {.segments = s, .n_segments = 4};
  check_render(&t, TW_OUTPUT_TXT,
               "\xE3\x81\x93\xE3\x82\x93\n"
               "\xE2\x80\x8Bzw\xE2\x80\x8B\n"
               "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\n"
               "\xEF\xBF\xBD" "A\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\n",
               "strip and U+FFFD");
}

static void test_zero_segments(void) {
  tw_transcript t;
  memset(&t, 0, sizeof t);
  check_render(&t, TW_OUTPUT_TXT, "", "txt, no segments");
  check_render(&t, TW_OUTPUT_SRT, "", "srt, no segments");
  check_render(&t, TW_OUTPUT_VTT, "WEBVTT\n\n", "vtt, no segments");
  check_render(&t, TW_OUTPUT_TSV, "start\tend\ttext\n", "tsv, no segments");
  check_render(&t, TW_OUTPUT_JSON, "{\"text\": \"\", \"segments\": [], \"language\": \"\"}",
               "json, no segments");
}

static void test_bad_input(void) {
  tw_segment s[2] = {seg(0, 1, "ok"), seg(NAN, 2, "bad")};
  tw_transcript t = {.segments = s, .n_segments = 2};
  tw_errbuf err = {{0}};
  int rc = 0;
  char *out = render(&t, TW_OUTPUT_SRT, &rc, &err);
  CHECK(rc == TW_EINVAL && strstr(err.msg, "segment 1") && strstr(err.msg, "srt"));
  CHECK_MSG(out && out[0] == '\0', "nothing written before the check: '%s'", out ? out : "");
  free(out);
  s[1] = seg(-1.0, 2, "negative");
  free(render(&t, TW_OUTPUT_VTT, &rc, &err));
  CHECK(rc == TW_EINVAL && strstr(err.msg, "start"));
  free(render(&t, TW_OUTPUT_TSV, &rc, &err)); /* tsv rounds negative times, as Python does */
  CHECK(rc == 0);
  s[1].end = INFINITY;
  free(render(&t, TW_OUTPUT_TSV, &rc, &err));
  CHECK(rc == TW_EINVAL && strstr(err.msg, "end"));
  free(render(&t, TW_OUTPUT_ALL, &rc, &err));
  CHECK(rc == TW_EINVAL && strstr(err.msg, "all"));
  tw_transcript broken = {.segments = NULL, .n_segments = 3};
  free(render(&broken, TW_OUTPUT_TXT, &rc, &err));
  CHECK(rc == TW_EINVAL);
  s[0].n_tokens = 2; /* tokens NULL */
  free(render(&t, TW_OUTPUT_JSON, &rc, &err));
  CHECK(rc == TW_EINVAL && strstr(err.msg, "segment 0"));
  CHECK(tw_write_transcript(NULL, &t, TW_OUTPUT_TXT, &err) == TW_EINVAL);
}

/* A full disk: /dev/full accepts the open and fails every write. */
static void test_write_error(void) {
  FILE *f = fopen("/dev/full", "w");
  CHECK_MSG(f != NULL, "/dev/full: %s", strerror(errno));
  if (!f) return;
  tw_transcript t = demo();
  tw_errbuf err = {{0}};
  int rc = tw_write_transcript(f, &t, TW_OUTPUT_SRT, &err);
  CHECK_MSG(rc == TW_EIO && strstr(err.msg, strerror(ENOSPC)) && strstr(err.msg, "srt"),
            "rc %d: %s", rc, err.msg);
  fclose(f);
}

static void test_output_path(void) {
  /* values of os.path.join(d, os.path.splitext(os.path.basename(a))[0] + ".ext") */
  static const struct {
    const char *dir, *audio;
    tw_output_format fmt;
    const char *want;
  } cases[] = {
      {"out", "/a/b/jfk.wav", TW_OUTPUT_SRT, "out/jfk.srt"},
      {"out/", "x.tar.gz", TW_OUTPUT_JSON, "out/x.tar.json"},
      {"", ".hidden", TW_OUTPUT_TXT, ".hidden.txt"},
      {"d", "..wav", TW_OUTPUT_VTT, "d/..wav.vtt"},
      {"d", "noext", TW_OUTPUT_TSV, "d/noext.tsv"},
      {"d", "x.", TW_OUTPUT_TXT, "d/x.txt"},
      {"d", "a.b/c", TW_OUTPUT_TXT, "d/c.txt"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[256];
    tw_errbuf err = {{0}};
    int rc = tw_output_path(cases[i].dir, cases[i].audio, cases[i].fmt, buf, sizeof buf, &err);
    CHECK_MSG(rc == 0 && strcmp(buf, cases[i].want) == 0, "%s + %s: rc %d '%s', want '%s'",
              cases[i].dir, cases[i].audio, rc, rc ? err.msg : buf, cases[i].want);
  }
  char buf[12];
  tw_errbuf err = {{0}};
  CHECK(tw_output_path("d", "dir/", TW_OUTPUT_TXT, buf, sizeof buf, &err) == TW_EINVAL);
  CHECK(strstr(err.msg, "dir/") != NULL);
  CHECK(tw_output_path("d", "long-name.wav", TW_OUTPUT_TXT, buf, sizeof buf, &err) == TW_EOVERFLOW);
  CHECK(tw_output_path("d", "a.wav", TW_OUTPUT_ALL, buf, sizeof buf, &err) == TW_EINVAL);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 16);
  if (buf) buf[fread(buf, 1, (1 << 16) - 1, f)] = '\0';
  fclose(f);
  return buf;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void test_files(void) {
  char dir[] = "/tmp/tw_writers_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  tw_transcript t = demo();
  tw_errbuf err = {{0}};
  int rc = tw_write_transcript_file(dir, "audio/talk.wav", &t, TW_OUTPUT_ALL, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK_MSG(count_entries(dir) == 5, "%d files", count_entries(dir)); /* no temporaries left */
  static const char *ext[] = {"txt", "vtt", "srt", "tsv", "json"};
  for (int i = 0; i < 5; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/talk.%s", dir, ext[i]);
    char *file = slurp(path);
    int rc2 = 0;
    char *mem = render(&t, (tw_output_format)i, &rc2, &err);
    CHECK_MSG(file && mem && strcmp(file, mem) == 0, "%s matches the stream writer", path);
    free(file);
    free(mem);
  }
  /* a failing write leaves the previous file as it was and no temporary */
  char srt[256];
  snprintf(srt, sizeof srt, "%s/talk.srt", dir);
  FILE *f = fopen(srt, "w");
  CHECK(f && fputs("old", f) >= 0 && fclose(f) == 0);
  demo_segs[2].end = NAN;
  rc = tw_write_transcript_file(dir, "talk.wav", &t, TW_OUTPUT_SRT, &err);
  CHECK_MSG(rc == TW_EINVAL && strstr(err.msg, srt), "rc %d: %s", rc, err.msg);
  char *old = slurp(srt);
  CHECK(old && strcmp(old, "old") == 0);
  free(old);
  CHECK_MSG(count_entries(dir) == 5, "%d files after the failure", count_entries(dir));
  char missing[300];
  snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
  rc = tw_write_transcript_file(missing, "talk.wav", &t, TW_OUTPUT_TXT, &err);
  CHECK_MSG(rc == TW_EIO && strstr(err.msg, missing) && strstr(err.msg, strerror(ENOENT)), "%s",
            err.msg);
  for (int i = 0; i < 5; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/talk.%s", dir, ext[i]);
    unlink(path);
  }
  CHECK(rmdir(dir) == 0);
}

int main(void) {
  test_format_names();
  test_timestamps();
  test_demo_formats();
  test_vtt_mixed_hours();
  test_tsv_rounding();
  test_strip_and_invalid_utf8();
  test_zero_segments();
  test_bad_input();
  test_write_error();
  test_output_path();
  test_files();
  return tw_test_finish("test_writers");
}

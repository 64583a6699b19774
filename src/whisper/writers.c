/* The five output formats of OpenAI's whisper/utils.py (see writers.h). */
#include "whisper/writers.h"

#include <math.h>
#include <string.h>

#include "whisper/writer_out.h"

static const char *const format_names[] = {"txt", "vtt", "srt", "tsv", "json", "all"};

int tw_output_format_parse(const char *name, tw_output_format *out, tw_errbuf *err) {
  for (int i = 0; name && i <= TW_OUTPUT_ALL; i++) {
    if (strcmp(name, format_names[i]) == 0) {
      *out = (tw_output_format)i;
      return 0;
    }
  }
  return tw_err(err, TW_EINVAL, "unknown output format '%s' (expected txt, vtt, srt, tsv, json or all)",
                name ? name : "(null)");
}

const char *tw_output_format_name(tw_output_format fmt) {
  return (unsigned)fmt <= TW_OUTPUT_ALL ? format_names[fmt] : NULL;
}

int tw_format_timestamp(double seconds, int always_include_hours, char decimal_marker, char *buf,
                        size_t cap) {
  if (!(seconds >= 0) || isinf(seconds)) return TW_EINVAL;
  if (seconds > TW_TIME_MAX_S) return TW_ERANGE;
  /* nearbyint in the default rounding mode is Python's round(): half to even. */
  long long ms = (long long)nearbyint(seconds * 1000.0);
  long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60;
  ms %= 1000;
  int n = always_include_hours || h > 0
              ? snprintf(buf, cap, "%02lld:%02lld:%02lld%c%03lld", h, m, s, decimal_marker, ms)
              : snprintf(buf, cap, "%02lld:%02lld%c%03lld", m, s, decimal_marker, ms);
  if (n < 0 || (size_t)n >= cap) return TW_EOVERFLOW;
  return n;
}

/* What each format needs of a segment's times: subtitles format them as
 * timestamps (OpenAI asserts >= 0), tsv rounds them (any finite value), json
 * writes anything (null for non-finite). */
static int check_time(double x, int i, const char *which, tw_output_format fmt, tw_errbuf *err) {
  if (fmt == TW_OUTPUT_JSON || fmt == TW_OUTPUT_TXT) return 0;
  int ok = fmt == TW_OUTPUT_TSV ? isfinite(x) && fabs(x) <= TW_TIME_MAX_S
                                : x >= 0 && x <= TW_TIME_MAX_S;
  if (ok) return 0;
  return tw_err(err, TW_EINVAL, "segment %d: %s time %g s cannot be written as %s", i, which, x,
                format_names[fmt]);
}

static int check_transcript(const tw_transcript *t, tw_output_format fmt, tw_errbuf *err) {
  if (t->n_segments < 0 || (t->n_segments > 0 && !t->segments))
    return tw_err(err, TW_EINVAL, "transcript has %d segments and segment array %p", t->n_segments,
                  (void *)t->segments);
  for (int i = 0; i < t->n_segments; i++) {
    const tw_segment *s = &t->segments[i];
    if (s->n_tokens < 0 || (s->n_tokens > 0 && !s->tokens))
      return tw_err(err, TW_EINVAL, "segment %d has %d tokens and token array %p", i, s->n_tokens,
                    (void *)s->tokens);
    int rc = check_time(s->start, i, "start", fmt, err);
    if (!rc) rc = check_time(s->end, i, "end", fmt, err);
    if (rc) return rc;
  }
  return 0;
}

static void write_txt(tw_wout *o, const tw_transcript *t) {
  for (int i = 0; i < t->n_segments; i++) {
    tw_wout_text(o, t->segments[i].text, 1, TW_TEXT_PLAIN);
    tw_wout_str(o, "\n");
  }
}

/* Times were checked, so formatting cannot fail here. */
static void write_cue_times(tw_wout *o, const tw_segment *s, int hours, char marker) {
  char a[TW_TIMESTAMP_MAX], b[TW_TIMESTAMP_MAX];
  tw_format_timestamp(s->start, hours, marker, a, sizeof a);
  tw_format_timestamp(s->end, hours, marker, b, sizeof b);
  tw_wout_fmt(o, "%s --> %s\n", a, b);
}

static void write_vtt(tw_wout *o, const tw_transcript *t) {
  tw_wout_str(o, "WEBVTT\n\n");
  for (int i = 0; i < t->n_segments; i++) {
    write_cue_times(o, &t->segments[i], 0, '.');
    tw_wout_text(o, t->segments[i].text, 1, TW_TEXT_SUBTITLE);
    tw_wout_str(o, "\n\n");
  }
}

static void write_srt(tw_wout *o, const tw_transcript *t) {
  for (int i = 0; i < t->n_segments; i++) {
    tw_wout_fmt(o, "%d\n", i + 1);
    write_cue_times(o, &t->segments[i], 1, ',');
    tw_wout_text(o, t->segments[i].text, 1, TW_TEXT_SUBTITLE);
    tw_wout_str(o, "\n\n");
  }
}

static void write_tsv(tw_wout *o, const tw_transcript *t) {
  tw_wout_str(o, "start\tend\ttext\n");
  for (int i = 0; i < t->n_segments; i++) {
    const tw_segment *s = &t->segments[i];
    /* round(1000 * x): half to even, like Python's round() */
    tw_wout_fmt(o, "%lld\t%lld\t", (long long)nearbyint(1000.0 * s->start),
                (long long)nearbyint(1000.0 * s->end));
    tw_wout_text(o, s->text, 1, TW_TEXT_TSV);
    tw_wout_str(o, "\n");
  }
}

int tw_write_transcript(FILE *f, const tw_transcript *t, tw_output_format fmt, tw_errbuf *err) {
  if (!f || !t) return tw_err(err, TW_EINVAL, "tw_write_transcript: NULL %s", f ? "transcript" : "file");
  if (fmt == TW_OUTPUT_ALL)
    return tw_err(err, TW_EINVAL, "output format 'all' writes one file per format, not one stream");
  if ((unsigned)fmt > TW_OUTPUT_ALL) return tw_err(err, TW_EINVAL, "output format %d unknown", (int)fmt);
  int rc = check_transcript(t, fmt, err);
  if (rc) return rc;
  tw_wout o = {f, 0};
  switch (fmt) {
    case TW_OUTPUT_TXT: write_txt(&o, t); break;
    case TW_OUTPUT_VTT: write_vtt(&o, t); break;
    case TW_OUTPUT_SRT: write_srt(&o, t); break;
    case TW_OUTPUT_TSV: write_tsv(&o, t); break;
    default: tw_write_json_body(&o, t); break;
  }
  return tw_wout_finish(&o, format_names[fmt], err);
}

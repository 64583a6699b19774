/* Transcript output formats, written exactly as OpenAI's whisper/utils.py
 * writers (WriteTXT, WriteVTT, WriteSRT, WriteTSV, WriteJSON) write them:
 *
 *   txt   each segment's text, stripped, one per line
 *   vtt   "WEBVTT", a blank line, then per segment "START --> END\nTEXT\n\n";
 *         MM:SS.mmm, with HH: in front of a timestamp only when it reaches an hour
 *   srt   per segment "N\nHH:MM:SS,mmm --> HH:MM:SS,mmm\nTEXT\n\n", N from 1
 *   tsv   "start\tend\ttext", then integer milliseconds and the text
 *   json  {"text", "segments": [{id, seek, start, end, text, tokens, temperature,
 *         avg_logprob, compression_ratio, no_speech_prob}], "language"}
 *
 * Subtitle and TSV texts are stripped of leading and trailing whitespace as
 * Python's str.strip() does (Unicode whitespace included); srt/vtt replace
 * "-->" by "->" (Python's left-to-right str.replace), tsv replaces tabs by
 * spaces.  Times round as Python's round(): half to even.
 *
 * Every format emits valid UTF-8: OpenAI's texts are Python strings decoded
 * with errors="replace", so each ill-formed byte sequence in a text (its
 * maximal subpart, as Python replaces it) is written as U+FFFD.
 *
 * Where we differ from OpenAI, on purpose:
 *   - JSON passes valid UTF-8 through unescaped (json.dump(..., ensure_ascii=
 *     False)); OpenAI's json.dump escapes non-ASCII as \uXXXX.  Both parse to
 *     the same values.
 *   - A non-finite number is written as JSON null; Python would write NaN or
 *     Infinity, which is not JSON.
 *   - Negative or non-finite srt/vtt times and non-finite tsv times are
 *     refused with TW_EINVAL before anything is written (OpenAI fails an
 *     assertion or round() raises, mid-file).
 * Floats are written as Python's repr() writes them (shortest digits that
 * read back to the same double; "0.0", "1e-05", "1e+16"), so json.load gives
 * back the exact doubles. */
#ifndef TW_WHISPER_WRITERS_H
#define TW_WHISPER_WRITERS_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "whisper/transcript.h"

/* tw_output_format (in the order OpenAI's get_writer("all") writes them):
 * include/tilewhisper/whisper.h. */

#define TW_OUTPUT_N_SINGLE 5 /* formats before TW_OUTPUT_ALL */

/* Parses "txt", "vtt", "srt", "tsv", "json" or "all" (exact, lower case).
 * TW_EINVAL with a message naming the bad value otherwise. */
int tw_output_format_parse(const char *name, tw_output_format *out, tw_errbuf *err);

/* tw_output_format_name: whisper.h. */

/* Longest timestamp tw_format_timestamp writes, NUL included. */
#define TW_TIMESTAMP_MAX 32
/* Largest time accepted anywhere (seconds): keeps milliseconds exact in int64. */
#define TW_TIME_MAX_S 1e12

/* OpenAI's format_timestamp: milliseconds = round(seconds * 1000) (half to
 * even), then [HH:]MM:SS<marker>mmm with hours at least two digits, shown when
 * always_include_hours or when hours > 0.  Writes into buf (NUL-terminated)
 * and returns the length, or TW_EINVAL for a negative or non-finite time,
 * TW_ERANGE beyond TW_TIME_MAX_S, TW_EOVERFLOW when cap is too small.
 * (tw_format_timestamp is declared in whisper.h.) */

/* Writes t in one format (not TW_OUTPUT_ALL) to f and flushes it.  The
 * transcript is checked first (times, NULL arrays), so bad input writes
 * nothing.  A NULL text is written as "".  TW_EIO with strerror when a write
 * or the flush fails (a full disk); f is then in an unknown state. */
int tw_write_transcript(FILE *f, const tw_transcript *t, tw_output_format fmt, tw_errbuf *err);

/* The file OpenAI's ResultWriter writes: os.path.join(out_dir, stem + "." +
 * ext) where stem = os.path.splitext(os.path.basename(audio_path))[0] (the
 * last extension removed; "a.b.wav" -> "a.b", ".hidden" stays).  out_dir ""
 * means the current directory.  fmt must be a single format.  TW_EINVAL when
 * audio_path has no file name (ends in '/'), TW_EOVERFLOW when cap is short. */
int tw_output_path(const char *out_dir, const char *audio_path, tw_output_format fmt, char *buf,
                   size_t cap, tw_errbuf *err);

/* Writes tw_output_path()'s file atomically: into a temporary file in the
 * same directory, flushed and fsync'd, then renamed over the target, so a
 * failure leaves the previous file (or none) and no partial one.
 * TW_OUTPUT_ALL writes the five formats in OpenAI's order and stops at the
 * first failure (files already written stay, each complete).  Messages name
 * the path. */
int tw_write_transcript_file(const char *out_dir, const char *audio_path, const tw_transcript *t,
                             tw_output_format fmt, tw_errbuf *err);

#endif

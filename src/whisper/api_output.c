/* Public wrappers of the transcript writers (writers.h). */
#include "whisper/writers.h"

int tw_output_format_from_name(const char *name, tw_output_format *out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_output_format_from_name: out is NULL");
  return tw_output_format_parse(name, out, NULL);
}

int tw_transcript_write(FILE *f, const tw_transcript *t, tw_output_format fmt) {
  if (!f || !t) return tw_err(NULL, TW_EINVAL, "tw_transcript_write: %s is NULL", f ? "transcript" : "stream");
  return tw_write_transcript(f, t, fmt, NULL);
}

int tw_transcript_write_file(const char *out_dir, const char *audio_path, const tw_transcript *t,
                             tw_output_format fmt) {
  return tw_write_transcript_file(out_dir, audio_path, t, fmt, NULL);
}

int tw_transcript_path(const char *out_dir, const char *audio_path, tw_output_format fmt,
                       char *buf, size_t cap) {
  if (!buf) return tw_err(NULL, TW_EINVAL, "tw_transcript_path: buf is NULL");
  return tw_output_path(out_dir, audio_path, fmt, buf, cap, NULL);
}

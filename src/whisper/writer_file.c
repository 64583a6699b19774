/* Output files as OpenAI's ResultWriter names them, written atomically. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "core/atomic_file.h"
#include "whisper/writers.h"

/* os.path.splitext(name)[0] of a base name: cut at the last dot unless only
 * dots come before it (".bashrc" and "..wav" keep their whole name). */
static size_t stem_length(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return strlen(name);
  for (const char *p = name; p < dot; p++)
    if (*p != '.') return (size_t)(dot - name);
  return strlen(name);
}

int tw_output_path(const char *out_dir, const char *audio_path, tw_output_format fmt, char *buf,
                   size_t cap, tw_errbuf *err) {
  if (!out_dir || !audio_path || (unsigned)fmt >= TW_OUTPUT_ALL)
    return tw_err(err, TW_EINVAL, "output path needs a directory, an audio path and one format");
  const char *slash = strrchr(audio_path, '/');
  const char *base = slash ? slash + 1 : audio_path;
  if (!*base) return tw_err(err, TW_EINVAL, "audio path '%s' has no file name", audio_path);
  size_t dir_len = strlen(out_dir);
  /* os.path.join adds a separator only when the directory lacks one */
  const char *sep = dir_len > 0 && out_dir[dir_len - 1] != '/' ? "/" : "";
  int n = snprintf(buf, cap, "%s%s%.*s.%s", out_dir, sep, (int)stem_length(base), base,
                   tw_output_format_name(fmt));
  if (n < 0 || (size_t)n >= cap)
    return tw_err(err, TW_EOVERFLOW, "output path for '%s' in '%s' is too long", audio_path, out_dir);
  return 0;
}

/* Through the core's atomic file: the data appears under `path` whole or
 * not at all. */
static int write_one(const char *out_dir, const char *audio_path, const tw_transcript *t,
                     tw_output_format fmt, tw_errbuf *err) {
  char path[4096];
  int rc = tw_output_path(out_dir, audio_path, fmt, path, sizeof path, err);
  if (rc) return rc;
  tw_atomic_file af;
  if ((rc = tw_atomic_open(&af, path, err))) return rc;
  if ((rc = tw_write_transcript(af.f, t, fmt, err))) {
    char msg[TW_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", tw_last_error());
    tw_atomic_abort(&af);
    return tw_err(err, rc, "%s: %s", path, msg);
  }
  return tw_atomic_commit(&af, err);
}

int tw_write_transcript_file(const char *out_dir, const char *audio_path, const tw_transcript *t,
                             tw_output_format fmt, tw_errbuf *err) {
  if ((unsigned)fmt > TW_OUTPUT_ALL) return tw_err(err, TW_EINVAL, "output format %d unknown", (int)fmt);
  if (!t) return tw_err(err, TW_EINVAL, "tw_write_transcript_file: NULL transcript");
  if (fmt != TW_OUTPUT_ALL) return write_one(out_dir, audio_path, t, fmt, err);
  for (int i = 0; i < TW_OUTPUT_N_SINGLE; i++) {
    int rc = write_one(out_dir, audio_path, t, (tw_output_format)i, err);
    if (rc) return rc;
  }
  return 0;
}

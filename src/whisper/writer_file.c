/* Output files as OpenAI's ResultWriter names them, written atomically. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Creates "<path>.tmp-<pid>-<n>" exclusively; mode 0666 so the umask
 * applies as it does to the file Python's open() creates. */
static int create_temp(const char *path, char *tmp, size_t cap, tw_errbuf *err) {
  static atomic_uint counter;
  for (int attempt = 0; attempt < 100; attempt++) {
    int n = snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    if (n < 0 || (size_t)n >= cap) return tw_err(err, TW_EOVERFLOW, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return tw_err(err, TW_EIO, "%s: cannot create: %s", tmp, strerror(errno));
  }
  return tw_err(err, TW_EIO, "%s: no free temporary name next to it", path);
}

/* Writes, flushes, syncs and closes; the message names the file. */
static int write_and_close(int fd, const char *path, const tw_transcript *t, tw_output_format fmt,
                           tw_errbuf *err) {
  FILE *f = fdopen(fd, "w");
  if (!f) {
    int e = errno;
    close(fd);
    return tw_err(err, TW_EIO, "%s: %s", path, strerror(e));
  }
  int rc = tw_write_transcript(f, t, fmt, err);
  if (rc) {
    char msg[TW_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", tw_last_error());
    fclose(f);
    return tw_err(err, rc, "%s: %s", path, msg);
  }
  /* durable before the rename makes it visible under its real name */
  if (fsync(fileno(f)) != 0) {
    int e = errno;
    fclose(f);
    return tw_err(err, TW_EIO, "%s: fsync: %s", path, strerror(e));
  }
  if (fclose(f) != 0) return tw_err(err, TW_EIO, "%s: close: %s", path, strerror(errno));
  return 0;
}

static int write_one(const char *out_dir, const char *audio_path, const tw_transcript *t,
                     tw_output_format fmt, tw_errbuf *err) {
  char path[4096], tmp[4200];
  int rc = tw_output_path(out_dir, audio_path, fmt, path, sizeof path, err);
  if (rc) return rc;
  int fd = create_temp(path, tmp, sizeof tmp, err);
  if (fd < 0) return fd;
  rc = write_and_close(fd, path, t, fmt, err);
  if (!rc && rename(tmp, path) != 0)
    rc = tw_err(err, TW_EIO, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
  if (rc) unlink(tmp);
  return rc;
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

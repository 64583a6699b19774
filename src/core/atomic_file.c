#define _GNU_SOURCE /* O_TMPFILE, linkat */

#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

static atomic_uint tmp_counter;

static char *dup_str(const char *s) {
  size_t len = strlen(s) + 1;
  char *d = tw_malloc_aligned(len);
  if (d) memcpy(d, s, len);
  return d;
}

/* The directory part of path ("." when none) into buf. */
static void dir_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(buf, cap, ".");
  else if (slash == path)
    snprintf(buf, cap, "/");
  else
    snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

/* A fresh visible name next to the target (O_EXCL: never an existing file). */
static int open_named(tw_atomic_file *af, char *name, size_t cap) {
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(name, cap, "%s.tmp.%ld.%u", af->path, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

static int open_direct(tw_atomic_file *af, const char *path, tw_errbuf *err) {
  af->direct = 1;
  if (!(af->f = fopen(path, "wb"))) {
    int e = errno;
    tw_atomic_abort(af);
    return tw_err(err, TW_EIO, "%s: cannot open for writing: %s", path, strerror(e));
  }
  if (!(af->path = dup_str(path))) {
    tw_atomic_abort(af);
    return tw_err(err, TW_ENOMEM, "%s: out of memory", path);
  }
  return 0;
}

int tw_atomic_open(tw_atomic_file *af, const char *path, tw_errbuf *err) {
  if (!af || !path || !*path) return tw_err(err, TW_EINVAL, "output: no path");
  memset(af, 0, sizeof *af);
  struct stat st;
  int exists = stat(path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    return tw_err(err, TW_EIO, "%s: cannot write: %s", path, strerror(EISDIR));
  if (exists && !S_ISREG(st.st_mode)) return open_direct(af, path, err);
  char *real = exists ? realpath(path, NULL) : NULL; /* through symbolic links */
  af->path = dup_str(real ? real : path);
  free(real); /* realpath's own malloc */
  if (!af->path) return tw_err(err, TW_ENOMEM, "%s: out of memory", path);
  char dir[4096], name[4200];
  dir_of(path, dir, sizeof dir);
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    fd = open_named(af, name, sizeof name);
    if (fd >= 0 && !(af->tmp_path = dup_str(name))) {
      close(fd);
      unlink(name);
      fd = -1;
      errno = ENOMEM;
    }
  }
  if (fd < 0 || !(af->f = fdopen(fd, "wb"))) {
    int e = errno;
    if (fd >= 0) close(fd);
    tw_atomic_abort(af);
    return tw_err(err, TW_EIO, "%s: cannot create: %s", path, strerror(e));
  }
  return 0;
}

/* Gives an O_TMPFILE file a temporary name (linkat cannot replace). */
static int link_anonymous(tw_atomic_file *af) {
  char proc[64], name[4200];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(af->f));
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(name, sizeof name, "%s.tmp.%ld.%u", af->path, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
      if (!(af->tmp_path = dup_str(name))) {
        unlink(name);
        errno = ENOMEM;
        return -1;
      }
      return 0;
    }
    if (errno != EEXIST) return -1;
  }
  return -1;
}

static void sync_dir(const char *path) {
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd); /* durability only: the rename has happened either way */
  close(fd);
}

int tw_atomic_commit(tw_atomic_file *af, tw_errbuf *err) {
  if (!af || !af->f) return tw_err(err, TW_EINVAL, "output: not open");
  if (af->direct) {
    errno = 0;
    int failed = fflush(af->f) != 0 || ferror(af->f);
    int e = errno;
    failed |= fclose(af->f) != 0;
    af->f = NULL;
    int rc = failed ? tw_err(err, TW_EIO, "%s: cannot write: %s", af->path,
                             strerror(e ? e : errno ? errno : EIO))
                    : 0;
    tw_atomic_abort(af);
    return rc;
  }
  int e = 0;
  errno = 0;
  if (fflush(af->f) != 0 || ferror(af->f) || fsync(fileno(af->f)) != 0) e = errno ? errno : EIO;
  if (!e && !af->tmp_path && link_anonymous(af) != 0) e = errno;
  if (!e && rename(af->tmp_path, af->path) != 0) e = errno;
  if (!e) {
    tw_free(af->tmp_path);
    af->tmp_path = NULL; /* published: nothing for abort to remove */
  }
  int close_failed = fclose(af->f) != 0;
  af->f = NULL;
  if (!e && close_failed) e = errno;
  char *path = af->path;
  af->path = NULL;
  tw_atomic_abort(af);
  if (e) {
    int rc = tw_err(err, TW_EIO, "%s: cannot write: %s", path, strerror(e));
    tw_free(path);
    return rc;
  }
  sync_dir(path);
  tw_free(path);
  return 0;
}

void tw_atomic_abort(tw_atomic_file *af) {
  if (!af) return;
  if (af->f) fclose(af->f);
  if (af->tmp_path) unlink(af->tmp_path);
  tw_free(af->tmp_path);
  tw_free(af->path);
  memset(af, 0, sizeof *af);
}

int tw_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

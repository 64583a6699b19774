#define _POSIX_C_SOURCE 200809L

#include "whisper/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "whisper/audio_decode.h"

/* A stream larger than this is refused rather than buffered (an endless
 * source such as /dev/zero stops here). */
#define STREAM_MAX_BYTES ((size_t)1 << 30)

/* Reads a non-seekable input (pipe, FIFO, terminal) to its end. */
static int read_stream(int fd, const char *name, unsigned char **out, size_t *size,
                       tw_errbuf *err) {
  size_t cap = 0, len = 0;
  unsigned char *buf = NULL;
  for (;;) {
    if (len == cap) {
      size_t c = cap ? cap * 2 : (size_t)1 << 20;
      unsigned char *p = c <= STREAM_MAX_BYTES ? tw_malloc_aligned(c) : NULL;
      if (!p) {
        tw_free(buf);
        return c > STREAM_MAX_BYTES
                   ? tw_err(err, TW_ERANGE, "%s: more than %zu bytes of streamed audio", name,
                            STREAM_MAX_BYTES)
                   : tw_err(err, TW_ENOMEM, "%s: out of memory after %zu bytes", name, len);
      }
      if (buf) memcpy(p, buf, len);
      tw_free(buf);
      buf = p;
      cap = c;
    }
    ssize_t k = read(fd, buf + len, cap - len);
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      tw_free(buf);
      return tw_err(err, TW_EIO, "%s: read failed after %zu bytes: %s", name, len, strerror(e));
    }
    len += (size_t)k;
  }
  *out = buf;
  *size = len;
  return 0;
}

/* One open descriptor: a regular file is decoded through it, anything else
 * is read to its end first. */
static int decode_fd(int fd, const char *name, const tw_audio_options *opts, float **samples,
                     size_t *n, tw_audio_info *info, tw_errbuf *err) {
  struct stat st;
  if (fstat(fd, &st) != 0) return tw_err(err, TW_EIO, "%s: cannot stat: %s", name, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return tw_err(err, TW_EAUDIO, "%s: is a directory, not an audio file", name);
  if (S_ISREG(st.st_mode)) {
    if (st.st_size == 0) return tw_err(err, TW_EAUDIO, "%s: is empty (0 bytes), not audio", name);
    SF_INFO in;
    memset(&in, 0, sizeof in);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &in, SF_FALSE);
    if (!sf) return tw_audio_open_error(name, err);
    int rc = tw_audio_decode_sf(sf, &in, name, opts, samples, n, info, err);
    sf_close(sf);
    return rc;
  }
  if (isatty(fd))
    return tw_err(err, TW_EAUDIO, "%s: is a terminal, not audio (pipe a file into it)", name);
  unsigned char *data = NULL;
  size_t size = 0;
  int rc = read_stream(fd, name, &data, &size, err);
  if (rc == 0) rc = tw_audio_decode_memory(data, size, name, opts, samples, n, info, err);
  tw_free(data);
  return rc;
}

int tw_audio_load_ex(const char *path, const tw_audio_options *opts, float **samples, size_t *n,
                     tw_audio_info *info, tw_errbuf *err) {
  if (!samples || !n || !path) return tw_err(err, TW_EINVAL, "audio load: NULL argument");
  *samples = NULL;
  *n = 0;
  if (strcmp(path, "-") == 0)
    return decode_fd(STDIN_FILENO, "standard input", opts, samples, n, info, err);
  int fd;
  do fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return tw_err(err, TW_EIO, "%s: cannot open: %s", path, strerror(errno));
  int rc = decode_fd(fd, path, opts, samples, n, info, err);
  close(fd);
  return rc;
}

int tw_audio_load(const char *path, float **samples, size_t *n, tw_errbuf *err) {
  return tw_audio_load_ex(path, NULL, samples, n, NULL, err);
}

/* Decoding audio held in memory through libsndfile's virtual I/O: the
 * bytes are read in place, so a stream read to its end (a pipe, standard
 * input) and a caller's buffer decode exactly as a file would. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "whisper/audio_decode.h"

typedef struct membuf {
  const unsigned char *data;
  sf_count_t size, pos;
} membuf;

static sf_count_t mem_length(void *user) { return ((membuf *)user)->size; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user) {
  membuf *m = user;
  sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
  /* out-of-range targets fail instead of wrapping; libsndfile checks */
  if ((offset > 0 && base > m->size - offset) || base + offset < 0) return -1;
  m->pos = base + offset;
  return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
  membuf *m = user;
  sf_count_t left = m->pos < m->size ? m->size - m->pos : 0;
  if (count < 0) count = 0;
  if (count > left) count = left;
  if (count) memcpy(ptr, m->data + m->pos, (size_t)count);
  m->pos += count;
  return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user) {
  (void)ptr, (void)count, (void)user;
  return 0; /* read-only */
}

static sf_count_t mem_tell(void *user) { return ((membuf *)user)->pos; }

int tw_audio_decode_memory(const void *data, size_t size, const char *name,
                           const tw_audio_options *opts, float **samples, size_t *n,
                           tw_audio_info *info, tw_errbuf *err) {
  if (!samples || !n) return tw_err(err, TW_EINVAL, "audio decode: NULL argument");
  *samples = NULL;
  *n = 0;
  if (!name) name = "(memory)";
  if (!data && size) return tw_err(err, TW_EINVAL, "%s: NULL data", name);
  if (size == 0) return tw_err(err, TW_EAUDIO, "%s: is empty (0 bytes), not audio", name);
  if (size > (size_t)INT64_MAX) return tw_err(err, TW_ERANGE, "%s: too large", name);
  membuf m = {data, (sf_count_t)size, 0};
  SF_VIRTUAL_IO io = {mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO in;
  memset(&in, 0, sizeof in);
  SNDFILE *sf = sf_open_virtual(&io, SFM_READ, &in, &m);
  if (!sf) return tw_audio_open_error(name, err);
  int rc = tw_audio_decode_sf(sf, &in, name, opts, samples, n, info, err);
  sf_close(sf);
  return rc;
}

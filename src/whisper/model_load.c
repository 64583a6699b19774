/* whisper.cpp's ggml model file, read through a read-only memory map.
 *
 *   u32 magic 0x67676d6c, i32 hparams[11], i32 n_mel, i32 n_fft,
 *   f32 filters[n_mel * n_fft], i32 n_vocab, { u32 len, u8 bytes[len] } x n_vocab,
 *   then until EOF: i32 n_dims, i32 name_len, i32 ggml_type, i32 ne[n_dims],
 *   char name[name_len], data (n_elements * type size).
 *
 * Every length is checked against the bytes left before it is used, and
 * every tensor against the table of tensor_names.c. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"
#include "whisper/model.h"
#include "whisper/model_reader.h"

#define GGML_MAGIC 0x67676d6cu

static int map_file(const char *path, tw_whisper_model *m, tw_errbuf *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tw_err(err, TW_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return tw_err(err, TW_EIO, "%s: not a regular file", path);
  }
  if (st.st_size < 4) {
    close(fd);
    return tw_err(err, TW_EFORMAT, "%s: truncated at offset 0: file of %lld bytes has no magic", path,
                  (long long)st.st_size);
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return tw_err(err, TW_EIO, "%s: mmap failed: %s", path, strerror(errno));
  m->map = p;
  m->map_bytes = (size_t)st.st_size;
  return 0;
}

static int check_range(tw_reader *r, const char *name, int32_t v, int32_t lo, int32_t hi) {
  if (v >= lo && v <= hi) return 0;
  return tw_err(r->err, TW_EFORMAT, "%s: hparam %s = %d out of range [%d, %d]", r->path, name, v,
                lo, hi);
}

/* ggml_ftype names: what a quantized whisper.cpp file says it mostly holds. */
static const char *ftype_name(int ft) {
  static const char *const names[] = {"f32",     "f16",     "q4_0",   "q4_1",   "q4_1_some_f16",
                                      "q4_2",    "q4_3",    "q8_0",   "q5_0",   "q5_1",
                                      "q2_K",    "q3_K",    "q4_K",   "q5_K",   "q6_K",
                                      "iq2_xxs", "iq2_xs",  "iq3_xxs", "iq1_s", "iq4_nl",
                                      "iq3_s",   "iq2_s",   "iq4_xs", "iq1_m",  "bf16"};
  return ft >= 0 && ft < (int)(sizeof names / sizeof names[0]) ? names[ft] : "unknown";
}

static int check_hparams(tw_reader *r, const tw_whisper_hparams *hp) {
  int rc;
  if ((rc = check_range(r, "n_vocab", hp->n_vocab, 1, 1 << 20)) ||
      (rc = check_range(r, "n_audio_ctx", hp->n_audio_ctx, 1, 1 << 14)) ||
      (rc = check_range(r, "n_audio_state", hp->n_audio_state, 1, 1 << 14)) ||
      (rc = check_range(r, "n_audio_head", hp->n_audio_head, 1, 1024)) ||
      (rc = check_range(r, "n_audio_layer", hp->n_audio_layer, 1, 256)) ||
      (rc = check_range(r, "n_text_ctx", hp->n_text_ctx, 1, 1 << 14)) ||
      (rc = check_range(r, "n_text_state", hp->n_text_state, 1, 1 << 14)) ||
      (rc = check_range(r, "n_text_head", hp->n_text_head, 1, 1024)) ||
      (rc = check_range(r, "n_text_layer", hp->n_text_layer, 1, 256)) ||
      (rc = check_range(r, "ftype", hp->ftype, 0, 1 << 20)))
    return rc;
  if (hp->n_mels != 80 && hp->n_mels != 128)
    return tw_err(r->err, TW_EFORMAT, "%s: hparam n_mels = %d (expected 80 or 128)", r->path,
                  hp->n_mels);
  if (hp->n_audio_state % hp->n_audio_head)
    return tw_err(r->err, TW_EFORMAT, "%s: n_audio_state %d not divisible by n_audio_head %d",
                  r->path, hp->n_audio_state, hp->n_audio_head);
  if (hp->n_text_state % hp->n_text_head)
    return tw_err(r->err, TW_EFORMAT, "%s: n_text_state %d not divisible by n_text_head %d",
                  r->path, hp->n_text_state, hp->n_text_head);
  /* ggml adds 1000 * its quantisation version; each tensor names its own
   * type, so ftype only has to be one whose tensor types we read. */
  int ft = hp->ftype % 1000;
  if (ft != 0 && ft != 1 && ft != 2 && ft != 3 && ft != 4 && ft != 7 && ft != 8 && ft != 9)
    return tw_err(r->err, TW_EUNSUPPORTED,
                  "%s: hparam ftype %d (mostly %s) is not supported: f32, f16, q4_0, q4_1, "
                  "q5_0, q5_1 and q8_0 models are",
                  r->path, hp->ftype, ftype_name(ft));
  return 0;
}

static int read_header(tw_reader *r, tw_whisper_model *m) {
  int32_t v[11];
  const void *b = NULL;
  int rc = tw__rd_bytes(r, "magic", 4, &b);
  if (rc) return rc;
  uint32_t magic;
  memcpy(&magic, b, 4);
  if (magic != GGML_MAGIC)
    return tw_err(r->err, TW_EFORMAT, "%s: bad magic 0x%08x at offset 0 (expected 0x%08x)",
                  r->path, magic, GGML_MAGIC);
  if ((rc = tw__rd_bytes(r, "hparams", sizeof v, &b))) return rc;
  memcpy(v, b, sizeof v);
  tw_whisper_hparams *hp = &m->hp;
  hp->n_vocab = v[0], hp->n_audio_ctx = v[1], hp->n_audio_state = v[2];
  hp->n_audio_head = v[3], hp->n_audio_layer = v[4], hp->n_text_ctx = v[5];
  hp->n_text_state = v[6], hp->n_text_head = v[7], hp->n_text_layer = v[8];
  hp->n_mels = v[9], hp->ftype = v[10];
  return check_hparams(r, hp);
}

static int read_filters(tw_reader *r, tw_whisper_model *m) {
  int rc;
  size_t at = r->off;
  if ((rc = tw__rd_i32(r, "mel filter n_mel", &m->n_mel)) ||
      (rc = tw__rd_i32(r, "mel filter n_fft", &m->n_fft_bins)))
    return rc;
  if (m->n_mel != m->hp.n_mels || m->n_fft_bins != 201)
    return tw_err(r->err, TW_EFORMAT,
                  "%s: offset %zu: mel filters are %d x %d, expected %d x 201 (n_mels)", r->path,
                  at, m->n_mel, m->n_fft_bins, m->hp.n_mels);
  const void *b = NULL;
  if ((rc = tw__rd_bytes(r, "mel filters", (size_t)m->n_mel * 201 * sizeof(float), &b))) return rc;
  m->mel_filters = b; /* offset 56: 4-byte aligned in the page-aligned map */
  return 0;
}

static int read_vocab(tw_reader *r, tw_whisper_model *m) {
  size_t at = r->off;
  int rc = tw__rd_i32(r, "vocab size", &m->n_vocab_file);
  if (rc) return rc;
  if (m->n_vocab_file < 0 || m->n_vocab_file > m->hp.n_vocab)
    return tw_err(r->err, TW_EFORMAT, "%s: offset %zu: vocab size %d out of range [0, %d]",
                  r->path, at, m->n_vocab_file, m->hp.n_vocab);
  size_t n = (size_t)m->n_vocab_file;
  m->token_bytes = tw_calloc_aligned(n ? n : 1, sizeof *m->token_bytes);
  m->token_lens = tw_calloc_aligned(n ? n : 1, sizeof *m->token_lens);
  if (!m->token_bytes || !m->token_lens)
    return tw_err(r->err, TW_ENOMEM, "%s: vocab of %zu tokens: out of memory", r->path, n);
  for (size_t i = 0; i < n; i++) {
    uint32_t len;
    const void *b = NULL;
    if ((rc = tw__rd_bytes(r, "token length", 4, &b))) return rc;
    memcpy(&len, b, 4);
    if ((rc = tw__rd_bytes(r, "token bytes", len, &b))) {
      return tw_err(r->err, rc, "%s: offset %zu: token %zu of length %u runs past the end (%zu)",
                    r->path, r->off - 4, i, len, r->size);
    }
    m->token_bytes[i] = b;
    m->token_lens[i] = len;
  }
  return 0;
}

void tw_whisper_model_free(tw_whisper_model *m) {
  if (!m) return;
  if (m->map) munmap(m->map, m->map_bytes);
  tw_free((void *)m->token_bytes);
  tw_free(m->token_lens);
  tw_free(m->tensors);
  tw_free(m->enc_layers);
  tw_free(m->dec_layers);
  tw_free(m->owned);
  tw_free(m);
}

static int parse(tw_whisper_model *m, const void *data, size_t size, unsigned flags,
                 tw_errbuf *err) {
  tw_reader r = {data, size, 0, m->path, err};
  int rc;
  if (!(rc = read_header(&r, m)) && !(rc = read_filters(&r, m)) && !(rc = read_vocab(&r, m)))
    rc = tw__whisper_read_tensors(&r, m, flags);
  return rc;
}

static int new_model(const char *name, tw_whisper_model **out, tw_errbuf *err) {
  if (!out) return tw_err(err, TW_EINVAL, "model load: out is NULL");
  *out = NULL;
  if (!name) return tw_err(err, TW_EINVAL, "model load: path is NULL");
  tw_whisper_model *m = tw_calloc_aligned(1, sizeof *m);
  if (!m) return tw_err(err, TW_ENOMEM, "%s: out of memory", name);
  snprintf(m->path, sizeof m->path, "%s", name);
  *out = m;
  return 0;
}

int tw_whisper_model_load_ex(const char *path, unsigned flags, tw_whisper_model **out,
                             tw_errbuf *err) {
  tw_whisper_model *m;
  int rc = new_model(path, &m, err);
  if (rc) return rc;
  if (!(rc = map_file(path, m, err))) rc = parse(m, m->map, m->map_bytes, flags, err);
  if (rc) {
    tw_whisper_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int tw_whisper_model_load(const char *path, tw_whisper_model **out, tw_errbuf *err) {
  return tw_whisper_model_load_ex(path, 0, out, err);
}

int tw_whisper_model_load_memory(const void *data, size_t size, const char *name, unsigned flags,
                                 tw_whisper_model **out, tw_errbuf *err) {
  tw_whisper_model *m;
  int rc = new_model(name ? name : "(memory)", &m, err);
  if (rc) return rc;
  if (!data || ((uintptr_t)data & 3u))
    rc = tw_err(err, TW_EINVAL, "%s: buffer is NULL or not 4-byte aligned", m->path);
  else if (size < 4)
    rc = tw_err(err, TW_EFORMAT, "%s: truncated at offset 0: %zu bytes have no magic", m->path,
                size);
  else
    rc = parse(m, data, size, flags, err);
  if (rc) {
    tw_whisper_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

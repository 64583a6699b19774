/* The tensor section of a ggml model file: each record is checked against
 * the tensor table (name, n_dims, shape, type, size) and bound to the
 * model's encoder and decoder pointers. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "whisper/model_reader.h"
#include "whisper/quant.h"
#include "whisper/tensor_names.h"

typedef struct tensor_ctx {
  tw_reader *r;
  tw_whisper_model *m;
  tw_tensor_spec *specs;
  size_t n_specs;
  int32_t *file_index; /* per spec: index in m->tensors, or -1 */
} tensor_ctx;

static void fmt_shape(char *buf, size_t cap, int n_dims, const int64_t *ne) {
  int k = snprintf(buf, cap, "[");
  for (int i = 0; i < n_dims && k > 0 && (size_t)k < cap; i++)
    k += snprintf(buf + k, cap - (size_t)k, i ? ", %lld" : "%lld", (long long)ne[i]);
  if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, "]");
}

/* Copies a file name into a printable, NUL-terminated string. */
static void printable_name(char *dst, const uint8_t *src, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
  dst[n] = '\0';
}

static int find_spec(const tensor_ctx *c, const char *name) {
  for (size_t i = 0; i < c->n_specs; i++)
    if (!strcmp(c->specs[i].name, name)) return (int)i;
  return -1;
}

static int read_record_header(tensor_ctx *c, size_t at, tw_tensor *t, int32_t *ttype) {
  tw_reader *r = c->r;
  int32_t n_dims = 0, name_len = 0, ne = 0;
  int rc;
  if ((rc = tw__rd_i32(r, "tensor n_dims", &n_dims)) ||
      (rc = tw__rd_i32(r, "tensor name length", &name_len)) ||
      (rc = tw__rd_i32(r, "tensor type", ttype)))
    return rc;
  if (n_dims < 1 || n_dims > 4)
    return tw_err(r->err, TW_EFORMAT, "%s: tensor at offset %zu: n_dims %d (expected 1..4)",
                  r->path, at, n_dims);
  t->n_dims = n_dims;
  for (int i = 0; i < 4; i++) t->ne[i] = 1;
  for (int i = 0; i < n_dims; i++) {
    if ((rc = tw__rd_i32(r, "tensor dimension", &ne))) return rc;
    t->ne[i] = ne;
  }
  if (name_len < 1 || name_len >= (int32_t)sizeof t->name)
    return tw_err(r->err, TW_EFORMAT, "%s: tensor at offset %zu: name length %d (expected 1..%zu)",
                  r->path, at, name_len, sizeof t->name - 1);
  const void *b = NULL;
  if ((rc = tw__rd_bytes(r, "tensor name", (size_t)name_len, &b))) return rc;
  printable_name(t->name, b, (size_t)name_len); /* odd bytes become '?': unknown below */
  return 0;
}

static int check_record(tensor_ctx *c, size_t at, const tw_tensor *t, int32_t ttype,
                        const tw_tensor_spec *s) {
  tw_reader *r = c->r;
  char got[96], want[96];
  for (int i = 0; i < t->n_dims; i++)
    if (t->ne[i] < 1)
      return tw_err(r->err, TW_EFORMAT, "%s: tensor '%s' at offset %zu: dimension %d is %lld",
                    r->path, t->name, at, i, (long long)t->ne[i]);
  fmt_shape(got, sizeof got, t->n_dims, t->ne);
  fmt_shape(want, sizeof want, s->n_dims, s->ne);
  int same = t->n_dims == s->n_dims;
  for (int i = 0; same && i < 4; i++) same = t->ne[i] == s->ne[i];
  if (!same)
    return tw_err(r->err, TW_EFORMAT, "%s: tensor '%s' at offset %zu: shape %s, expected %s",
                  r->path, t->name, at, got, want);
  if (tw_ggml_block_bytes(ttype) == 0)
    return tw_err(r->err, TW_EUNSUPPORTED,
                  "%s: tensor '%s' at offset %zu: type %s (ggml id %d) is not supported (f32, "
                  "f16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1 are)",
                  r->path, t->name, at, tw_ggml_type_name(ttype), ttype);
  if (!s->is_matrix && ttype != TW_GGML_F32)
    return tw_err(r->err, TW_EFORMAT, "%s: tensor '%s' at offset %zu: type %s, expected f32",
                  r->path, t->name, at, tw_ggml_type_name(ttype));
  if (tw_ggml_is_quantized(ttype) && t->n_dims != 2)
    return tw_err(r->err, TW_EFORMAT,
                  "%s: tensor '%s' at offset %zu: type %s on a %d-D tensor (only 2-D weight "
                  "matrices are quantized)",
                  r->path, t->name, at, tw_ggml_type_name(ttype), t->n_dims);
  /* Blocks never straddle rows in ggml: a row must be whole blocks. */
  if (t->ne[0] % (int64_t)tw_ggml_block_values(ttype))
    return tw_err(r->err, TW_EFORMAT,
                  "%s: tensor '%s' at offset %zu: rows of %lld values are not whole %s blocks "
                  "of %zu",
                  r->path, t->name, at, (long long)t->ne[0], tw_ggml_type_name(ttype),
                  tw_ggml_block_values(ttype));
  return 0;
}

static int read_record(tensor_ctx *c) {
  tw_reader *r = c->r;
  size_t at = r->off;
  tw_tensor t;
  memset(&t, 0, sizeof t);
  int32_t ttype = 0;
  int rc = read_record_header(c, at, &t, &ttype);
  if (rc) return rc;
  int si = find_spec(c, t.name);
  if (si < 0)
    return tw_err(r->err, TW_EFORMAT, "%s: unknown tensor '%s' at offset %zu", r->path, t.name, at);
  if (c->file_index[si] >= 0)
    return tw_err(r->err, TW_EFORMAT, "%s: duplicate tensor '%s' at offset %zu", r->path, t.name,
                  at);
  if ((rc = check_record(c, at, &t, ttype, &c->specs[si]))) return rc;
  t.type = (tw_tensor_type)ttype; /* tw_tensor_type numbers types as ggml does */
  t.n_elements = 1;
  for (int i = 0; i < 4; i++) t.n_elements *= (size_t)t.ne[i]; /* bounded by the hparams */
  size_t bytes;
  if (tw_mul_size(t.n_elements / tw_ggml_block_values(ttype), tw_ggml_block_bytes(ttype), &bytes))
    return tw_err(r->err, TW_EOVERFLOW, "%s: tensor '%s' at offset %zu: size overflows", r->path,
                  t.name, at);
  const void *data = NULL;
  if (bytes > r->size - r->off)
    return tw_err(r->err, TW_EFORMAT,
                  "%s: tensor '%s' at offset %zu: truncated data at offset %zu: needs %zu bytes, "
                  "%zu left",
                  r->path, t.name, at, r->off, bytes, r->size - r->off);
  tw__rd_bytes(r, "tensor data", bytes, &data);
  t.data = data;
  t.file_offset = (size_t)((const uint8_t *)data - r->p);
  c->file_index[si] = (int32_t)c->m->n_tensors;
  c->m->tensors[c->m->n_tensors++] = t;
  return 0;
}

/* Points the model's encoder and decoder fields at the tensors found. */
static void bind(tensor_ctx *c) {
  for (size_t i = 0; i < c->n_specs; i++) {
    const tw_tensor_spec *s = &c->specs[i];
    if (s->field == TW_SPEC_NO_FIELD || c->file_index[i] < 0) continue;
    const tw_tensor *t = &c->m->tensors[c->file_index[i]];
    char *base = s->layer < 0  ? (char *)c->m
                 : s->encoder ? (char *)&c->m->enc_layers[s->layer]
                              : (char *)&c->m->dec_layers[s->layer];
    memcpy(base + s->field, &t, sizeof t);
  }
}

static int read_all(tensor_ctx *c, unsigned flags) {
  tw_reader *r = c->r;
  tw_whisper_model *m = c->m;
  m->enc_layers = tw_calloc_aligned((size_t)m->hp.n_audio_layer, sizeof *m->enc_layers);
  m->dec_layers = tw_calloc_aligned((size_t)m->hp.n_text_layer, sizeof *m->dec_layers);
  m->tensors = tw_calloc_aligned(c->n_specs, sizeof *m->tensors);
  c->file_index = tw_calloc_aligned(c->n_specs, sizeof *c->file_index);
  if (!m->enc_layers || !m->dec_layers || !m->tensors || !c->file_index)
    return tw_err(r->err, TW_ENOMEM, "%s: tensor table: out of memory", r->path);
  for (size_t i = 0; i < c->n_specs; i++) c->file_index[i] = -1;
  while (r->off < r->size) {
    int rc = read_record(c);
    if (rc) return rc;
  }
  /* Full load: the whole encoder, and the decoder all or nothing (so a file
   * cut at a tensor boundary inside the decoder is still caught). */
  int any_decoder = 0;
  for (size_t i = 0; i < c->n_specs; i++) any_decoder |= !c->specs[i].encoder && c->file_index[i] >= 0;
  for (size_t i = 0; i < c->n_specs && !(flags & TW_LOAD_HEADER_ONLY); i++) {
    if (c->file_index[i] >= 0 || (!c->specs[i].encoder && !any_decoder)) continue;
    return tw_err(r->err, TW_EFORMAT, "%s: missing tensor '%s' (file ends at offset %zu)", r->path,
                  c->specs[i].name, r->size);
  }
  bind(c);
  return 0;
}

int tw__whisper_read_tensors(tw_reader *r, tw_whisper_model *m, unsigned flags) {
  tensor_ctx c = {r, m, NULL, 0, NULL};
  int rc = tw_whisper_tensor_specs(&m->hp, &c.specs, &c.n_specs, r->err);
  if (rc == 0) rc = read_all(&c, flags);
  tw_free(c.specs);
  tw_free(c.file_index);
  return rc;
}

const tw_tensor *tw_whisper_model_find(const tw_whisper_model *m, const char *name) {
  if (!m || !name) return NULL;
  for (size_t i = 0; i < m->n_tensors; i++)
    if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
  return NULL;
}

/* Tensor values as f32, whatever the storage: f32 copied, f16 widened,
 * ggml's quantized blocks decoded (quant.c).  Data may be unaligned (it
 * points into the file mapping), so nothing is read through a float *. */
#include <string.h>

#include "core/fp16.h"
#include "whisper/model.h"
#include "whisper/quant.h"
#include "whisper/tensor_names.h"

int tw_tensor_is_quantized(const tw_tensor *t) { return t && tw_ggml_is_quantized(t->type); }

static int bad_scale(const tw_tensor *t, size_t block, tw_errbuf *err) {
  size_t at = t->file_offset + block * tw_ggml_block_bytes(t->type);
  return tw_err(err, TW_EFORMAT,
                "tensor '%s': %s block %zu at offset %zu has an inf or NaN scale (corrupt data)",
                t->name, tw_ggml_type_name(t->type), block, at);
}

/* Elements [first, first + n) of a quantized tensor: whole blocks decoded
 * straight into dst, a partial block at either end through a copy. */
static int read_quantized(const tw_tensor *t, size_t first, size_t n, float *dst,
                          tw_errbuf *err) {
  const size_t qk = tw_ggml_block_values(t->type), bb = tw_ggml_block_bytes(t->type);
  const uint8_t *p = t->data;
  if (t->n_elements % qk)
    return tw_err(err, TW_EFORMAT, "tensor '%s': %zu elements are not whole blocks of %zu",
                  t->name, t->n_elements, qk);
  for (size_t i = first, end = first + n; i < end;) {
    size_t blk = i / qk, off = i % qk;
    if (off == 0 && end - i >= qk) {
      size_t nb = (end - i) / qk, done = tw_quant_dequantize(t->type, p + blk * bb, nb, dst);
      if (done < nb) return bad_scale(t, blk + done, err);
      dst += nb * qk, i += nb * qk;
      continue;
    }
    float tmp[32];
    if (tw_quant_dequantize(t->type, p + blk * bb, 1, tmp) != 1) return bad_scale(t, blk, err);
    size_t k = qk - off < end - i ? qk - off : end - i;
    memcpy(dst, tmp + off, k * sizeof *dst);
    dst += k, i += k;
  }
  return 0;
}

static int read_range(const tw_tensor *t, size_t first, size_t n, float *dst, tw_errbuf *err) {
  if (!t || !t->data || first > t->n_elements || n > t->n_elements - first)
    return tw_err(err, TW_ERANGE, "tensor read [%zu, +%zu) outside '%s' (%zu elements)", first, n,
                  t ? t->name : "(null)", t ? t->n_elements : 0);
  const uint8_t *p = t->data;
  if (t->type == TW_TENSOR_F32) {
    memcpy(dst, p + first * 4, n * 4);
    return 0;
  }
  if (t->type == TW_TENSOR_F16) {
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, p + (first + i) * 2, 2);
      dst[i] = tw_fp16_to_fp32(h);
    }
    return 0;
  }
  if (!tw_ggml_is_quantized(t->type))
    return tw_err(err, TW_EINVAL, "tensor '%s': unknown type %d", t->name, (int)t->type);
  return read_quantized(t, first, n, dst, err);
}

int tw_tensor_read_f32(const tw_tensor *t, size_t first, size_t n, float *dst) {
  return read_range(t, first, n, dst, NULL);
}

int tw_tensor_matrix_f32(const tw_tensor *t, size_t row0, size_t n_rows, float *dst,
                         tw_errbuf *err) {
  if (!t || t->n_dims < 1 || t->n_dims > 4 || t->ne[t->n_dims - 1] < 1)
    return tw_err(err, TW_EINVAL, "tensor matrix read: tensor %s is missing or has no rows",
                  t ? t->name : "(null)");
  const size_t rows = (size_t)t->ne[t->n_dims - 1], cols = t->n_elements / rows;
  if (row0 > rows || n_rows > rows - row0)
    return tw_err(err, TW_ERANGE, "tensor '%s': rows [%zu, +%zu) outside its %zu rows", t->name,
                  row0, n_rows, rows);
  return read_range(t, row0 * cols, n_rows * cols, dst, err);
}

const float *tw_tensor_take_f32(float **cursor, const tw_tensor *t, size_t count) {
  float *dst = *cursor;
  if (tw_tensor_read_f32(t, 0, count, dst)) memset(dst, 0, count * sizeof *dst);
  *cursor += count;
  return dst;
}

/* ggml's 32-value block formats: decoding for the loader, round-to-nearest
 * encoding for the synthetic writer.  One pair of functions per format,
 * registered in a table; integers are assembled from bytes little-endian
 * (the file's order) so nothing depends on alignment or host order. */
#include "whisper/quant.h"

#include <math.h>

#include "core/fp16.h"
#include "whisper/model.h"

#define QK 32 /* values per block, every format here */

typedef int (*decode_fn)(const uint8_t *b, float *y);
typedef void (*encode_fn)(const float *x, uint8_t *b);

static float half_at(const uint8_t *p) { return tw_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }

static void put_half(uint8_t *p, float v) {
  uint16_t h = tw_fp32_to_fp16(v);
  p[0] = (uint8_t)(h & 0xff);
  p[1] = (uint8_t)(h >> 8);
}

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 16 quant bytes of a 4/5-bit block: byte j holds value j in its low
 * nibble and value j + 16 in its high nibble.  The 5-bit formats keep the
 * fifth bit of value j in bit j of a 32-bit word. */

static int decode_q4_0(const uint8_t *b, float *y) {
  const float d = half_at(b);
  if (!isfinite(d)) return -1;
  for (int j = 0; j < QK / 2; j++) {
    y[j] = (float)((b[2 + j] & 0x0f) - 8) * d;
    y[j + QK / 2] = (float)((b[2 + j] >> 4) - 8) * d;
  }
  return 0;
}

static int decode_q4_1(const uint8_t *b, float *y) {
  const float d = half_at(b), m = half_at(b + 2);
  if (!isfinite(d) || !isfinite(m)) return -1;
  for (int j = 0; j < QK / 2; j++) {
    y[j] = (float)(b[4 + j] & 0x0f) * d + m;
    y[j + QK / 2] = (float)(b[4 + j] >> 4) * d + m;
  }
  return 0;
}

static int decode_q5_0(const uint8_t *b, float *y) {
  const float d = half_at(b);
  const uint32_t qh = u32_at(b + 2);
  if (!isfinite(d)) return -1;
  for (int j = 0; j < QK / 2; j++) {
    int lo = (b[6 + j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
    int hi = (b[6 + j] >> 4) | (int)((qh >> (j + QK / 2)) & 1u) << 4;
    y[j] = (float)(lo - 16) * d;
    y[j + QK / 2] = (float)(hi - 16) * d;
  }
  return 0;
}

static int decode_q5_1(const uint8_t *b, float *y) {
  const float d = half_at(b), m = half_at(b + 2);
  const uint32_t qh = u32_at(b + 4);
  if (!isfinite(d) || !isfinite(m)) return -1;
  for (int j = 0; j < QK / 2; j++) {
    int lo = (b[8 + j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
    int hi = (b[8 + j] >> 4) | (int)((qh >> (j + QK / 2)) & 1u) << 4;
    y[j] = (float)lo * d + m;
    y[j + QK / 2] = (float)hi * d + m;
  }
  return 0;
}

/* Signed bytes without relying on the implementation-defined conversion. */
static int s8(uint8_t v) { return (int)v - ((v & 0x80) << 1); }

static int decode_q8_0(const uint8_t *b, float *y) {
  const float d = half_at(b);
  if (!isfinite(d)) return -1;
  for (int j = 0; j < QK; j++) y[j] = (float)s8(b[2 + j]) * d;
  return 0;
}

/* q8_1's second half is d * sum(q), used only by ggml's dot products: the
 * values do not depend on it, so it is not checked. */
static int decode_q8_1(const uint8_t *b, float *y) {
  const float d = half_at(b);
  if (!isfinite(d)) return -1;
  for (int j = 0; j < QK; j++) y[j] = (float)s8(b[4 + j]) * d;
  return 0;
}

/* ---- round-to-nearest encoders ------------------------------------------ */

/* The value of largest magnitude, sign kept (the symmetric formats map it
 * to their most negative integer so it is represented exactly). */
static float signed_absmax(const float *x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < QK; j++)
    if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
  return max;
}

static void min_max(const float *x, float *lo, float *hi) {
  *lo = *hi = x[0];
  for (int j = 1; j < QK; j++) *lo = fminf(*lo, x[j]), *hi = fmaxf(*hi, x[j]);
}

static int clamp_int(float v, int top) {
  int q = (int)v; /* v >= 0 here: truncation is floor */
  return q > top ? top : q;
}

/* Packs 32 integers of 4 or 5 bits: low nibbles into qs, fifth bits into qh. */
static void pack(const int *q, uint8_t *qs, uint8_t *qh) {
  uint32_t h = 0;
  for (int j = 0; j < QK / 2; j++) {
    qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + QK / 2] & 0x0f) << 4);
    h |= (uint32_t)((q[j] >> 4) & 1) << j | (uint32_t)((q[j + QK / 2] >> 4) & 1) << (j + QK / 2);
  }
  if (qh)
    for (int i = 0; i < 4; i++) qh[i] = (uint8_t)(h >> (8 * i));
}

/* Symmetric 4/5-bit: d = max / -2^(bits-1), q = round(x / d) + 2^(bits-1). */
static void encode_sym(const float *x, int bits, uint8_t *d_at, uint8_t *qs, uint8_t *qh) {
  const int mid = 1 << (bits - 1);
  const float d = signed_absmax(x) / (float)-mid, id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[QK];
  for (int j = 0; j < QK; j++) q[j] = clamp_int(x[j] * id + ((float)mid + 0.5f), 2 * mid - 1);
  put_half(d_at, d);
  pack(q, qs, qh);
}

/* Affine 4/5-bit: d = (max - min) / (2^bits - 1), q = round((x - min) / d). */
static void encode_affine(const float *x, int bits, uint8_t *dm_at, uint8_t *qs, uint8_t *qh) {
  const int top = (1 << bits) - 1;
  float lo, hi;
  min_max(x, &lo, &hi);
  const float d = (hi - lo) / (float)top, id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[QK];
  for (int j = 0; j < QK; j++) q[j] = clamp_int((x[j] - lo) * id + 0.5f, top);
  put_half(dm_at, d);
  put_half(dm_at + 2, lo);
  pack(q, qs, qh);
}

static void encode_q4_0(const float *x, uint8_t *b) { encode_sym(x, 4, b, b + 2, NULL); }
static void encode_q4_1(const float *x, uint8_t *b) { encode_affine(x, 4, b, b + 4, NULL); }
static void encode_q5_0(const float *x, uint8_t *b) { encode_sym(x, 5, b, b + 6, b + 2); }
static void encode_q5_1(const float *x, uint8_t *b) { encode_affine(x, 5, b, b + 8, b + 4); }

static void encode_q8_0(const float *x, uint8_t *b) {
  const float d = fabsf(signed_absmax(x)) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(b, d);
  for (int j = 0; j < QK; j++) b[2 + j] = (uint8_t)(int8_t)lroundf(x[j] * id);
}

/* ---- the table ------------------------------------------------------------ */

typedef struct format {
  int32_t type;
  size_t values, bytes;
  decode_fn decode;
  encode_fn encode;
} format;

static const format formats[] = {
    {TW_TENSOR_F32, 1, 4, NULL, NULL},
    {TW_TENSOR_F16, 1, 2, NULL, NULL},
    {TW_TENSOR_Q4_0, QK, 2 + QK / 2, decode_q4_0, encode_q4_0},
    {TW_TENSOR_Q4_1, QK, 4 + QK / 2, decode_q4_1, encode_q4_1},
    {TW_TENSOR_Q5_0, QK, 2 + 4 + QK / 2, decode_q5_0, encode_q5_0},
    {TW_TENSOR_Q5_1, QK, 4 + 4 + QK / 2, decode_q5_1, encode_q5_1},
    {TW_TENSOR_Q8_0, QK, 2 + QK, decode_q8_0, encode_q8_0},
    {TW_TENSOR_Q8_1, QK, 4 + QK, decode_q8_1, NULL},
};

static const format *find(int32_t type) {
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
    if (formats[i].type == type) return &formats[i];
  return NULL;
}

size_t tw_ggml_block_values(int32_t type) {
  const format *f = find(type);
  return f ? f->values : 0;
}

size_t tw_ggml_block_bytes(int32_t type) {
  const format *f = find(type);
  return f ? f->bytes : 0;
}

int tw_ggml_is_quantized(int32_t type) {
  const format *f = find(type);
  return f && f->decode;
}

size_t tw_quant_dequantize(int32_t type, const uint8_t *blocks, size_t n_blocks, float *dst) {
  const format *f = find(type);
  if (!f || !f->decode) return 0;
  for (size_t i = 0; i < n_blocks; i++)
    if (f->decode(blocks + i * f->bytes, dst + i * QK)) return i;
  return n_blocks;
}

int tw_quant_quantize(int32_t type, const float *src, size_t n_blocks, uint8_t *blocks) {
  const format *f = find(type);
  if (!f || !f->encode) return -1;
  for (size_t i = 0; i < n_blocks; i++) f->encode(src + i * QK, blocks + i * f->bytes);
  return 0;
}

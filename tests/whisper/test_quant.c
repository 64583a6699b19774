/* ggml's quantized block formats: the library's decoders against the test's
 * bit-by-bit decoder (tw_test_dequant.c) on blocks with extreme scales,
 * every 4-bit and 8-bit value, the fifth-bit patterns of q5; corrupt
 * (non-finite) scales; the round-to-nearest encoder's error bound. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tw_test.h"
#include "tw_test_dequant.h"
#include "tw_test_memmodel.h"
#include "whisper/model.h"
#include "whisper/quant.h"

static const int32_t TYPES[] = {2, 3, 6, 7, 8, 9}; /* ggml ids: q4_0 q4_1 q5_0 q5_1 q8_0 q8_1 */
static const char *const NAMES[] = {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1"};
#define N_TYPES 6

/* fp16 scales: largest finite (±65504), smallest subnormal (±2^-24),
 * largest subnormal, smallest normal, ±0, -2, 1, 1/3. */
static const uint16_t SCALES[] = {0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff, 0x0400,
                                  0x0000, 0x8000, 0xc000, 0x3c00, 0x3555};
static const uint16_t MINS[] = {0x0000, 0x7bff, 0xfbff, 0x0001, 0xbc00};
static const uint32_t HIGH_BITS[] = {0x00000000u, 0xffffffffu, 0xaaaaaaaau, 0x55555555u,
                                     0x0000ffffu, 0xffff0000u, 0x80000001u, 0x12345678u};
#define N_OF(a) (sizeof a / sizeof a[0])

static int has_min(int32_t type) { return type == 3 || type == 7; } /* the _1 offsets */
static int five_bit(int32_t type) { return type == 6 || type == 7; }
static int eight_bit(int32_t type) { return type == 8 || type == 9; }

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

/* One block written from ggml's struct definitions: d, then m (or q8_1's
 * s), then q5's high-bit word, then the quant bytes. */
static void make_block(int32_t type, uint16_t d, uint16_t m, uint32_t qh, const uint8_t *qs,
                       uint8_t *out) {
  size_t at = 0;
  put16(out, d), at = 2;
  if (has_min(type) || type == 9) put16(out + 2, m), at = 4;
  if (five_bit(type)) {
    for (int i = 0; i < 4; i++) out[at + (size_t)i] = (uint8_t)(qh >> (8 * i));
    at += 4;
  }
  memcpy(out + at, qs, eight_bit(type) ? 32 : 16);
}

/* A 2-D tensor over n_blocks blocks, data one byte past an allocation so
 * it is misaligned as file data may be. */
static tw_tensor make_tensor(int32_t type, uint8_t *bytes, size_t n_blocks) {
  tw_tensor t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "test.%s", NAMES[0]);
  for (int i = 0; i < N_TYPES; i++)
    if (TYPES[i] == type) snprintf(t.name, sizeof t.name, "test.%s", NAMES[i]);
  t.type = (tw_tensor_type)type;
  t.n_dims = 2;
  t.ne[0] = 64; /* two blocks per row; n_blocks is even below */
  t.ne[1] = (int64_t)n_blocks / 2;
  t.ne[2] = t.ne[3] = 1;
  t.data = bytes + 1;
  t.n_elements = n_blocks * 32;
  t.file_offset = 1000;
  return t;
}

/* The library's values of [first, first + n) against the test's decoder:
 * exact where ggml's value is a product q * d (exact in float), within
 * one float rounding where an offset is added (q * d + m). */
static void compare(const tw_tensor *t, size_t first, size_t n, const char *what) {
  float *got = malloc(n * sizeof *got);
  int rc = tw_tensor_read_f32(t, first, n, got);
  CHECK_MSG(rc == 0, "%s %s: rc %d %s", t->name, what, rc, tw_last_error());
  size_t bb = tw_test_block_bytes(t->type), bad = 0;
  const uint8_t *p = t->data;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    size_t e = first + i;
    double want = tw_test_block_value(t->type, p + e / 32 * bb, (int)(e % 32));
    double tol = has_min(t->type) ? ldexp(fabs(want), -24) : 0.0;
    if (!(fabs(got[i] - want) <= tol) && bad++ < 5)
      fprintf(stderr, "%s %s: element %zu: %.9g, want %.9g\n", t->name, what, e, got[i], want);
  }
  CHECK_MSG(bad == 0, "%s %s: %zu values differ", t->name, what, bad);
  free(got);
}

/* Every scale x offset x high-bit pattern x quant pattern; the quant
 * patterns put each nibble value in both the low and the high half, and the
 * eight q8 blocks of a scale hold all 256 byte values. */
static void test_decode(int32_t type) {
  const size_t bb = tw_test_block_bytes(type);
  const size_t n_m = has_min(type) ? N_OF(MINS) : 1, n_h = five_bit(type) ? N_OF(HIGH_BITS) : 1;
  const size_t n_pat = eight_bit(type) ? 8 : 3;
  size_t n_blocks = N_OF(SCALES) * n_m * n_h * n_pat;
  n_blocks += n_blocks & 1;
  uint8_t *bytes = calloc(n_blocks * bb + 1, 1);
  tw_rng rng = {(uint64_t)type};
  size_t k = 0;
  for (size_t s = 0; s < N_OF(SCALES); s++)
    for (size_t m = 0; m < n_m; m++)
      for (size_t h = 0; h < n_h; h++)
        for (size_t pat = 0; pat < n_pat; pat++) {
          uint8_t qs[32];
          for (int j = 0; j < 32; j++) {
            if (eight_bit(type)) qs[j] = (uint8_t)(32 * pat + (size_t)j);
            else if (pat == 0) qs[j] = (uint8_t)((j & 15) | (15 - (j & 15)) << 4);
            else if (pat == 1) qs[j] = (uint8_t)((15 - (j & 15)) | (j & 15) << 4);
            else qs[j] = (uint8_t)tw_rng_range(&rng, 0, 255);
          }
          uint16_t mv = has_min(type) ? MINS[m] : type == 9 ? 0x3c00 : 0;
          make_block(type, SCALES[s], mv, HIGH_BITS[h], qs, bytes + 1 + bb * k++);
        }
  tw_tensor t = make_tensor(type, bytes, n_blocks);
  compare(&t, 0, t.n_elements, "whole");
  compare(&t, 7, 3, "inside a block");
  compare(&t, 30, 5, "across a block boundary");
  compare(&t, 33, 100, "partial blocks at both ends");
  compare(&t, t.n_elements - 1, 1, "last value");
  /* row reads see the same values as element reads */
  float *rows = malloc(3 * 64 * sizeof *rows), *flat = malloc(3 * 64 * sizeof *flat);
  tw_errbuf err = {{0}};
  CHECK(tw_tensor_matrix_f32(&t, 2, 3, rows, &err) == 0);
  CHECK(tw_tensor_read_f32(&t, 2 * 64, 3 * 64, flat) == 0);
  CHECK(!memcmp(rows, flat, 3 * 64 * sizeof *rows));
  CHECK(tw_tensor_matrix_f32(&t, (size_t)t.ne[1] - 1, 2, rows, &err) == TW_ERANGE &&
        strstr(err.msg, t.name));
  CHECK(tw_tensor_read_f32(&t, t.n_elements - 3, 4, flat) == TW_ERANGE);
  free(rows), free(flat), free(bytes);
  printf("  %s: %zu blocks of %zu bytes decode as the bit-by-bit reference\n", t.name, n_blocks,
         bb);
}

/* An inf or NaN scale (or offset) in block 3 of 6: reads that touch it fail
 * with TW_EFORMAT naming the tensor, the block and its file offset; the
 * blocks before it still read.  q8_1's s is not part of any value and is
 * not checked. */
static void test_non_finite(int32_t type) {
  static const uint16_t BAD[] = {0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff};
  const size_t bb = tw_test_block_bytes(type);
  uint8_t qs[32];
  for (int j = 0; j < 32; j++) qs[j] = (uint8_t)(j * 7);
  for (size_t v = 0; v < N_OF(BAD); v++)
    for (int field = 0; field < (has_min(type) || type == 9 ? 2 : 1); field++) {
      uint8_t bytes[6 * 40 + 1];
      for (size_t b = 0; b < 6; b++) {
        uint16_t d = 0x3c00, m = 0x3800;
        if (b == 3) *(field ? &m : &d) = BAD[v];
        make_block(type, d, m, 0x0f0f0f0fu, qs, bytes + 1 + bb * b);
      }
      tw_tensor t = make_tensor(type, bytes, 6);
      float out[6 * 32];
      tw_errbuf err = {{0}};
      int rc = tw_tensor_read_f32(&t, 0, 6 * 32, out), rc_row = tw_tensor_matrix_f32(&t, 1, 1, out, &err);
      char want[64];
      snprintf(want, sizeof want, "block 3 at offset %zu", 1000 + 3 * bb);
      if (type == 9 && field == 1) { /* s: unused, so accepted */
        CHECK_MSG(rc == 0 && rc_row == 0, "%s: s 0x%04x refused", t.name, BAD[v]);
        compare(&t, 0, 6 * 32, "non-finite s");
        continue;
      }
      CHECK_MSG(rc == TW_EFORMAT && strstr(tw_last_error(), t.name) &&
                    strstr(tw_last_error(), want),
                "%s %s 0x%04x: rc %d '%s'", t.name, field ? "m" : "d", BAD[v], rc, tw_last_error());
      CHECK_MSG(rc_row == TW_EFORMAT && strstr(err.msg, want), "%s row: '%s'", t.name, err.msg);
      CHECK(tw_tensor_read_f32(&t, 0, 3 * 32, out) == 0);           /* blocks 0-2 */
      CHECK(tw_tensor_read_f32(&t, 3 * 32 + 31, 1, out) == TW_EFORMAT); /* one value of 3 */
      CHECK(tw_tensor_read_f32(&t, 4 * 32, 64, out) == 0);          /* blocks 4-5 */
    }
}

/* Round to nearest: each decoded value within half a step of the input
 * (a whole step on the clamped side of the symmetric 4/5-bit formats,
 * whose largest magnitude takes the most negative integer), plus the fp16
 * rounding of the scale and offset. */
static void test_encode(int32_t type) {
  enum { NB = 64 };
  const size_t bb = tw_test_block_bytes(type);
  float x[NB * 32];
  tw_rng rng = {77 + (uint64_t)type};
  for (int b = 0; b < NB; b++) {
    double scale = pow(10.0, -3.0 + 5.0 * b / NB); /* 1e-3 .. 1e2 */
    for (int j = 0; j < 32; j++) {
      float *v = &x[b * 32 + j];
      switch (b % 8) {
        case 0: *v = 0.0f; break;                          /* all zero */
        case 1: *v = 0.5f; break;                          /* constant */
        case 2: *v = j == 5 ? (float)(3 * scale) : 0.0f; break; /* one spike */
        case 3: *v = (float)(-scale * tw_rng_uniform(&rng)); break; /* all negative */
        default: *v = (float)(scale * tw_rng_normal(&rng)); break;
      }
    }
  }
  uint8_t *q = malloc(NB * bb);
  CHECK(tw_quant_quantize(type, x, NB, q) == 0);
  const int bits = type == 8 ? 8 : five_bit(type) ? 5 : 4;
  size_t bad = 0;
  for (int b = 0; b < NB; b++) {
    const float *xb = &x[b * 32];
    double lo = xb[0], hi = xb[0], amax = 0;
    for (int j = 0; j < 32; j++)
      lo = fmin(lo, xb[j]), hi = fmax(hi, xb[j]), amax = fmax(amax, fabs(xb[j]));
    double step, slack;
    if (has_min(type)) {
      step = (hi - lo) / ((1 << bits) - 1), slack = 0.5 * step;
    } else {
      step = amax / (type == 8 ? 127 : 1 << (bits - 1)), slack = type == 8 ? 0.5 * step : step;
    }
    double bound = slack + ldexp(amax + fabs(lo) + step, -10) + ldexp(1.0, -18); /* subnormal d */
    /* the scale is ggml's: the extreme value takes the extreme integer */
    const uint8_t *blk = q + (size_t)b * bb;
    double d = tw_test_f16_to_f64((uint16_t)(blk[0] | blk[1] << 8)), want_q, got_q;
    int jmax = 0, jlo = 0;
    for (int j = 1; j < 32; j++) {
      if (fabs(xb[j]) > fabs(xb[jmax])) jmax = j;
      if (xb[j] < xb[jlo]) jlo = j;
    }
    if (has_min(type)) {
      int jhi = 0;
      for (int j = 1; j < 32; j++)
        if (xb[j] > xb[jhi]) jhi = j;
      double m = tw_test_f16_to_f64((uint16_t)(blk[2] | blk[3] << 8));
      got_q = d != 0 ? (tw_test_block_value(type, blk, jhi) - m) / d : (1 << bits) - 1;
      want_q = (1 << bits) - 1;
      CHECK_MSG(tw_test_block_value(type, blk, jlo) == m, "type %d block %d: min not at 0", type, b);
    } else {
      got_q = d != 0 ? tw_test_block_value(type, blk, jmax) / d : 0;
      want_q = d == 0 ? 0 : type == 8 ? (xb[jmax] > 0 ? 127 : -127) : -(1 << (bits - 1));
    }
    CHECK_MSG(got_q == want_q, "type %d block %d: extreme value coded %g, want %g", type, b,
              got_q, want_q);
    for (int j = 0; j < 32; j++) {
      double got = tw_test_block_value(type, blk, j);
      if (!(fabs(got - xb[j]) <= bound) && bad++ < 5)
        fprintf(stderr, "type %d block %d [%d]: %.9g for %.9g (bound %.3g)\n", type, b, j, got,
                xb[j], bound);
    }
  }
  CHECK_MSG(bad == 0, "type %d: %zu values beyond the rounding bound", type, bad);
  free(q);
}

/* The library's block sizes against the test's table (from ggml's structs),
 * for every type id a file might hold. */
static void test_sizes(void) {
  for (int32_t t = 0; t < 40; t++) {
    size_t want = t == 0 ? 4 : t == 1 ? 2 : tw_test_block_bytes(t);
    CHECK_MSG(tw_ggml_block_bytes(t) == want, "type %d: %zu bytes, want %zu", t,
              tw_ggml_block_bytes(t), want);
    CHECK(tw_ggml_block_values(t) == (t <= 1 ? 1u : want ? 32u : 0u));
    CHECK(tw_ggml_is_quantized(t) == (t > 1 && want > 0));
  }
  float x[32] = {0};
  uint8_t b[40];
  CHECK(tw_quant_quantize(0, x, 1, b) == -1 && tw_quant_quantize(9, x, 1, b) == -1 &&
        tw_quant_quantize(12, x, 1, b) == -1);
  /* a quantized tensor that is not whole blocks (built in memory; the
   * loader never lets one through) */
  uint8_t bytes[2 * 18 + 1] = {0};
  tw_tensor t = make_tensor(2, bytes, 2);
  t.n_elements = 40;
  float out[40];
  CHECK(tw_tensor_read_f32(&t, 0, 40, out) == TW_EFORMAT && strstr(tw_last_error(), "blocks"));
}

int main(void) {
  test_sizes();
  for (int i = 0; i < N_TYPES; i++) {
    test_decode(TYPES[i]);
    test_non_finite(TYPES[i]);
    if (TYPES[i] != 9) test_encode(TYPES[i]);
  }
  return tw_test_finish("test_quant");
}

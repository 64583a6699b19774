#include "tw_test_dequant.h"

#include "tw_test_memmodel.h"

/* Bit k of a little-endian bit stream starting at p. */
static unsigned bit(const uint8_t *p, unsigned k) { return (p[k / 8] >> (k % 8)) & 1u; }

/* `width` bits starting at bit `first`, least significant first. */
static unsigned bits(const uint8_t *p, unsigned first, unsigned width) {
  unsigned v = 0;
  for (unsigned b = 0; b < width; b++) v += bit(p, first + b) << b;
  return v;
}

static double half(const uint8_t *p) { return tw_test_f16_to_f64((uint16_t)bits(p, 0, 16)); }

/* Value j of 32 packed 4-bit integers: the 16 bytes hold values 0..15 in
 * their low nibbles and 16..31 in their high nibbles. */
static unsigned nibble(const uint8_t *qs, int j) {
  return j < 16 ? bits(qs, 8u * (unsigned)j, 4) : bits(qs, 8u * (unsigned)(j - 16) + 4, 4);
}

size_t tw_test_block_bytes(int32_t type) {
  switch (type) {
    case 2: return 2 + 16;         /* d, qs[16] */
    case 3: return 2 + 2 + 16;     /* d, m, qs[16] */
    case 6: return 2 + 4 + 16;     /* d, qh[4], qs[16] */
    case 7: return 2 + 2 + 4 + 16; /* d, m, qh[4], qs[16] */
    case 8: return 2 + 32;         /* d, qs[32] signed */
    case 9: return 2 + 2 + 32;     /* d, s, qs[32] signed */
    default: return 0;
  }
}

double tw_test_block_value(int32_t type, const uint8_t *b, int j) {
  switch (type) {
    case 2: return ((double)nibble(b + 2, j) - 8.0) * half(b);
    case 3: return (double)nibble(b + 4, j) * half(b) + half(b + 2);
    case 6: return ((double)(nibble(b + 6, j) + 16u * bit(b + 2, (unsigned)j)) - 16.0) * half(b);
    case 7: return (double)(nibble(b + 8, j) + 16u * bit(b + 4, (unsigned)j)) * half(b) + half(b + 2);
    case 8: return ((double)bits(b + 2 + j, 0, 7) - 128.0 * bit(b + 2 + j, 7)) * half(b);
    case 9: return ((double)bits(b + 4 + j, 0, 7) - 128.0 * bit(b + 4 + j, 7)) * half(b);
    default: return 0.0 / 0.0;
  }
}

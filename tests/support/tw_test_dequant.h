/* ggml's quantized blocks decoded the slow, obvious way for tests: every
 * integer assembled bit by bit from the block's bytes, in double, with the
 * layouts written out from ggml's block definitions (not from src/).  The
 * oracle for the library's decoders. */
#ifndef TW_TEST_DEQUANT_H
#define TW_TEST_DEQUANT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one 32-value block of ggml type id `type` (2 q4_0, 3 q4_1, 6
 * q5_0, 7 q5_1, 8 q8_0, 9 q8_1); 0 for others. */
size_t tw_test_block_bytes(int32_t type);

/* Value j (0..31) of the block at `block`.  Non-finite scales give what
 * IEEE arithmetic gives (inf, NaN). */
double tw_test_block_value(int32_t type, const uint8_t *block, int j);

#endif

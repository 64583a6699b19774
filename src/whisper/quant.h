/* ggml's block-quantized tensor formats as whisper.cpp's quantize tool
 * writes them (q4_0, q4_1, q5_0, q5_1, q8_0; q8_1 read only): every 32
 * consecutive values of a row form one block of an fp16 scale (and, for
 * the _1 types, an fp16 offset) followed by packed integers.  Layouts are
 * in docs/model-format.md.  Blocks are byte arrays read byte by byte, so
 * data mapped from a file may sit at any address. */
#ifndef TW_WHISPER_QUANT_H
#define TW_WHISPER_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* Values per block of a ggml type: 1 for f32/f16, 32 for the quantized
 * types we read; 0 for a type we do not read. */
size_t tw_ggml_block_values(int32_t ggml_type);

/* Bytes per block (f32 4, f16 2, q4_0 18, q4_1 20, q5_0 22, q5_1 24,
 * q8_0 34, q8_1 36); 0 for a type we do not read. */
size_t tw_ggml_block_bytes(int32_t ggml_type);

/* 1 for the block-quantized types above, 0 for f32/f16 and unknown ids. */
int tw_ggml_is_quantized(int32_t ggml_type);

/* Decodes n_blocks blocks of a quantized type into 32 * n_blocks floats.
 * Returns the number of blocks decoded: fewer than n_blocks when block
 * [returned] has a scale (or offset) that is inf or NaN — such a file is
 * corrupt and the caller reports it; nothing past that block is written.
 * Finite scales of any size (up to fp16's 65504, subnormals, zero,
 * negative) decode exactly as ggml does. */
size_t tw_quant_dequantize(int32_t ggml_type, const uint8_t *blocks, size_t n_blocks, float *dst);

/* Quantizes 32 * n_blocks values into n_blocks blocks with round-to-nearest,
 * as ggml's reference quantizers do (the scale from the block's largest
 * magnitude, or its min and max for the _1 types).  Returns 0, or -1 for a
 * type we do not write (f32, f16, q8_1, unknown). */
int tw_quant_quantize(int32_t ggml_type, const float *src, size_t n_blocks, uint8_t *blocks);

#endif

/* OpenAI's repetition measure for the temperature fallback:
 * compression_ratio(text) = len(b) / len(zlib.compress(b)), b = text's UTF-8,
 * zlib at its default level (whisper/utils.py). A looping transcript
 * compresses well, so a high ratio means "too repetitive, decode again". */
#ifndef TW_WHISPER_COMPRESSION_H
#define TW_WHISPER_COMPRESSION_H

#include <stddef.h>

#include "core/error.h"

/* *ratio = n / (size of zlib's default-level stream of text[0..n)). The
 * empty string gives 0 (zlib still writes an 8-byte stream), as in Python.
 * Returns 0, TW_ENOMEM, or TW_EUNSUPPORTED if zlib itself fails. */
int tw_compression_ratio(const char *text, size_t n, double *ratio, tw_errbuf *err);

#endif

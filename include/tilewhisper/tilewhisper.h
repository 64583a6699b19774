/* tilewhisper: a BF16 tile GEMM engine and the Whisper encoder on top of it.
 * Umbrella header; see gemm.h (engine), status.h (errors), bf16.h. */
#ifndef TILEWHISPER_TILEWHISPER_H
#define TILEWHISPER_TILEWHISPER_H

#include "tilewhisper/bf16.h"
#include "tilewhisper/gemm.h"
#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library version, "MAJOR.MINOR.PATCH". */
const char *tw_version(void);

#ifdef __cplusplus
}
#endif
#endif

/* tilewhisper: OpenAI's Whisper with every matrix product planned onto the
 * kernels a device offers.  Umbrella header:
 *   whisper.h    models, per-stream states, audio, log-mel, encoder
 *   device.h     devices: open, enumerate, query kernels and costs
 *   gemm.h       the engine: weights, streams, products and their costs
 *   status.h     status codes and error messages
 *   outfile.h    output files written atomically
 *   bf16.h       bfloat16 conversions
 *   reference.h  the fp64 reference product used to check results
 *   synth.h      synthetic models for tests and benchmarks
 *   study.h      the seed's per-tile loop and cost profiles (docs/seed.md) */
#ifndef TILEWHISPER_TILEWHISPER_H
#define TILEWHISPER_TILEWHISPER_H

#include "tilewhisper/bf16.h"
#include "tilewhisper/device.h"
#include "tilewhisper/export.h"
#include "tilewhisper/gemm.h"
#include "tilewhisper/outfile.h"
#include "tilewhisper/reference.h"
#include "tilewhisper/status.h"
#include "tilewhisper/study.h"
#include "tilewhisper/synth.h"
#include "tilewhisper/whisper.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_VERSION_MAJOR 0
#define TW_VERSION_MINOR 2
#define TW_VERSION_PATCH 0

/* Library version, "MAJOR.MINOR.PATCH". */
TW_API const char *tw_version(void);

#ifdef __cplusplus
}
#endif
#endif

/* Minimal test harness: CHECK-style assertions that count failures, a
 * deterministic RNG, and the fp64 reference GEMM used as the oracle. */
#ifndef TW_TEST_H
#define TW_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tilewhisper/tilewhisper.h"

extern int tw_test_failures;
extern int tw_test_checks;

#define CHECK(cond)                                                             \
  do {                                                                          \
    tw_test_checks++;                                                           \
    if (!(cond)) {                                                              \
      tw_test_failures++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                           \
  } while (0)

#define CHECK_MSG(cond, ...)                                                    \
  do {                                                                          \
    tw_test_checks++;                                                           \
    if (!(cond)) {                                                              \
      tw_test_failures++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
      fprintf(stderr, __VA_ARGS__);                                             \
      fputc('\n', stderr);                                                      \
    }                                                                           \
  } while (0)

/* Prints "N passed, N failed" and returns the process exit code. */
int tw_test_finish(const char *name);

/* splitmix64-based generator, reproducible everywhere. */
typedef struct tw_rng {
  uint64_t state;
} tw_rng;
uint64_t tw_rng_next(tw_rng *r);
double tw_rng_uniform(tw_rng *r);               /* [0, 1) */
double tw_rng_normal(tw_rng *r);                /* N(0, 1) */
int tw_rng_range(tw_rng *r, int lo, int hi);    /* [lo, hi] */
void tw_fill_uniform(tw_rng *r, float *x, size_t n, float lo, float hi);

#include "tilewhisper/reference.h"
#include "tilewhisper/gemm.h"

/* x rounded to bf16 (8 significant bits, to nearest even) by frexp/ldexp:
 * the tests' own rounding, independent of the library's. */
double tw_test_bf16_round(double x);

/* A device by name (NULL: the default) with `threads` workers and a
 * stream borrowing its pool; NULL (and a failed check) on error. */
tw_device *tw_test_open_device(const char *name, int threads, tw_stream **s);

/* Path of a fixture in tests/data (from $TW_TEST_DATA). */
const char *tw_test_data(const char *file);

#endif

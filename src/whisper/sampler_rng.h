/* The sampler's random numbers: xoshiro256** seeded through splitmix64, so
 * the same seed gives the same draws on every machine and build (unlike
 * rand()), which makes sampled transcripts reproducible. */
#ifndef TW_WHISPER_SAMPLER_RNG_H
#define TW_WHISPER_SAMPLER_RNG_H

#include <stdint.h>

typedef struct tw_srng {
  uint64_t s[4];
} tw_srng;

void tw_srng_seed(tw_srng *r, uint64_t seed);
uint64_t tw_srng_u64(tw_srng *r);
/* Uniform in [0, 1) with 53 random bits. */
double tw_srng_unit(tw_srng *r);
/* splitmix64's output function: a bijective mix used to derive seeds. */
uint64_t tw_mix64(uint64_t x);

#endif

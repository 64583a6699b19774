#include "whisper/sampler_rng.h"

uint64_t tw_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void tw_srng_seed(tw_srng *r, uint64_t seed) {
  /* splitmix64's sequence fills the state; it is never all zero. */
  for (int i = 0; i < 4; i++) {
    seed += 0x9E3779B97F4A7C15ull;
    r->s[i] = tw_mix64(seed);
  }
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tw_srng_u64(tw_srng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double tw_srng_unit(tw_srng *r) { return (double)(tw_srng_u64(r) >> 11) * 0x1.0p-53; }

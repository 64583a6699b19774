/* fp32 <-> bf16 conversion: each IEEE case against values worked out by hand
 * from the bit patterns, and the bulk path against the scalar path. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "tilewhisper/bf16.h"
#include "tw_test.h"

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int main(void) {
  /* exact values survive */
  CHECK(tw_fp32_to_bf16(1.0f) == 0x3f80);
  CHECK(tw_fp32_to_bf16(-2.0f) == 0xc000);
  CHECK(tw_bf16_to_fp32(0x3f80) == 1.0f);
  /* ties to even: 1 + 2^-8 is halfway between 1 (even) and 1 + 2^-7 */
  CHECK(tw_fp32_to_bf16(from_bits(0x3f808000u)) == 0x3f80);
  /* 1 + 3*2^-8 is halfway between 1+2^-7 (odd mantissa 1) and 1+2^-6: goes up to even */
  CHECK(tw_fp32_to_bf16(from_bits(0x3f818000u)) == 0x3f82);
  /* just above and below a tie */
  CHECK(tw_fp32_to_bf16(from_bits(0x3f808001u)) == 0x3f81);
  CHECK(tw_fp32_to_bf16(from_bits(0x3f807fffu)) == 0x3f80);
  /* signed zero */
  CHECK(tw_fp32_to_bf16(0.0f) == 0x0000);
  CHECK(tw_fp32_to_bf16(-0.0f) == 0x8000);
  CHECK(signbit(tw_bf16_to_fp32(0x8000)) && tw_bf16_to_fp32(0x8000) == 0.0f);
  /* infinities */
  CHECK(tw_fp32_to_bf16(INFINITY) == 0x7f80);
  CHECK(tw_fp32_to_bf16(-INFINITY) == 0xff80);
  /* overflow: FLT_MAX rounds up past the largest bf16 (0x7f7f) to inf */
  CHECK(tw_fp32_to_bf16(FLT_MAX) == 0x7f80);
  CHECK(tw_fp32_to_bf16(-FLT_MAX) == 0xff80);
  /* largest bf16 itself and a value just under the rounding boundary stay finite */
  CHECK(tw_fp32_to_bf16(from_bits(0x7f7f0000u)) == 0x7f7f);
  CHECK(tw_fp32_to_bf16(from_bits(0x7f7f7fffu)) == 0x7f7f);
  /* NaN stays NaN, quiet, sign kept, even a signalling NaN whose payload
   * lives only in the low bits (plain truncation would give inf) */
  tw_bf16 qn = tw_fp32_to_bf16(from_bits(0x7fc00000u));
  CHECK((qn & 0x7f80) == 0x7f80 && (qn & 0x007f) != 0 && (qn & 0x0040));
  tw_bf16 sn = tw_fp32_to_bf16(from_bits(0x7f800001u));
  CHECK((sn & 0x7f80) == 0x7f80 && (sn & 0x0040) && !(sn & 0x8000));
  tw_bf16 nsn = tw_fp32_to_bf16(from_bits(0xff800001u));
  CHECK((nsn & 0x8000) && isnan(tw_bf16_to_fp32(nsn)));
  CHECK(isnan(tw_bf16_to_fp32(tw_fp32_to_bf16(NAN))));
  /* subnormals: smallest fp32 subnormal rounds to +0, a bf16-representable
   * subnormal survives, and a tie in the subnormal range goes to even */
  CHECK(tw_fp32_to_bf16(from_bits(0x00000001u)) == 0x0000);
  CHECK(tw_fp32_to_bf16(from_bits(0x00010000u)) == 0x0001);
  CHECK(tw_fp32_to_bf16(from_bits(0x00018000u)) == 0x0002);
  CHECK(tw_fp32_to_bf16(from_bits(0x00008000u)) == 0x0000);
  CHECK(tw_fp32_to_bf16(from_bits(0x80010000u)) == 0x8001);
  /* largest subnormal rounds up into the smallest normal */
  CHECK(tw_fp32_to_bf16(from_bits(0x007fffffu)) == 0x0080);

  /* relative error bound of RNE: |x - bf16(x)| <= 2^-8 |x| (unit roundoff of an 8-bit significand) */
  tw_rng rng = {42};
  int bound_ok = 1;
  for (int i = 0; i < 100000; i++) {
    float x = (float)(tw_rng_normal(&rng) * 1000.0);
    float r = tw_round_bf16(x);
    if (fabsf(x - r) > ldexpf(fabsf(x), -8)) bound_ok = 0;
  }
  CHECK(bound_ok);

  /* bulk == scalar for every special and a random batch; odd length */
  enum { N = 1031 };
  float src[N];
  tw_bf16 bulk[N];
  float back[N];
  uint32_t specials[] = {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7f800000u, 0xff800000u,
                         0x80000000u, 0x00000001u, 0x00018000u, 0x3f808000u, 0x3f818000u,
                         0x7f7fffffu, 0x007fffffu};
  for (int i = 0; i < N; i++) src[i] = (float)tw_rng_normal(&rng);
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
    src[i * 7] = from_bits(specials[i]);
  tw_fp32_to_bf16_n(src, bulk, N);
  int same = 1;
  for (int i = 0; i < N; i++)
    if (bulk[i] != tw_fp32_to_bf16(src[i])) same = 0;
  CHECK(same);
  tw_bf16_to_fp32_n(bulk, back, N);
  int back_ok = 1;
  for (int i = 0; i < N; i++) {
    uint32_t u;
    memcpy(&u, &back[i], 4);
    if (u != (uint32_t)bulk[i] << 16) back_ok = 0;
  }
  CHECK(back_ok);
  tw_fp32_to_bf16_n(src, bulk, 0); /* n = 0 is fine */
  return tw_test_finish("test_bf16");
}

/* The seed's three accuracy suites on every device compiled in:
 * 64x64 basic; arbitrary sizes (random 1..300, primes, 1xKx1, K = 1);
 * Whisper sizes.  Bounds: relative Frobenius error <= 1e-5 against the fp64
 * reference on bf16-rounded inputs and <= 5e-3 against unrounded inputs. */
#include <stdlib.h>
#include <string.h>

#include "gemm_case.h"
#include "tw_test.h"

static void check_case(tw_context *ctx, const char *dev, size_t m, size_t k, size_t n,
                       unsigned long seed) {
  gemm_case_result r = gemm_case_run(ctx, m, k, n, (seed & 1) != 0, seed, NULL);
  CHECK_MSG(r.status == TW_OK, "%s %zux%zux%zu: %s", dev, m, k, n, tw_context_last_error(ctx));
  CHECK_MSG(r.rel_err_bf16 <= 1e-5, "%s %zux%zux%zu: rel err vs bf16 inputs %.3g", dev, m, k, n,
            r.rel_err_bf16);
  CHECK_MSG(r.rel_err_fp32 <= 5e-3, "%s %zux%zux%zu: rel err vs fp32 inputs %.3g", dev, m, k, n,
            r.rel_err_fp32);
  printf("  %-6s %5zux%5zux%6zu  rel_err(bf16 in) %.2e  rel_err(fp32 in) %.2e  max_abs %.2e  inv %llu\n",
         dev, m, k, n, r.rel_err_bf16, r.rel_err_fp32, r.max_abs_err,
         (unsigned long long)r.stats.invocations);
}

static void run_device(const char *dev, int whisper_sizes) {
  tw_context_options o;
  tw_context_options_init(&o);
  o.device = dev;
  o.threads = 2;
  tw_context *ctx;
  int rc = tw_context_create(&o, &ctx);
  if (rc == TW_ENOTFOUND || (rc == TW_EDEVICE && strstr(tw_last_error(), "clGetPlatformIDs"))) {
    printf("device %s not compiled in or no platform: not tested here\n", dev);
    return;
  }
  CHECK_MSG(rc == TW_OK, "create %s: %s", dev, tw_last_error());
  if (rc) return;
  printf("device %s\n", dev);
  /* suite 1: 64x64 basic */
  check_case(ctx, dev, 64, 64, 64, 1);
  /* suite 2: arbitrary sizes */
  tw_rng rng = {7};
  for (int i = 0; i < 12; i++)
    check_case(ctx, dev, (size_t)tw_rng_range(&rng, 1, 300), (size_t)tw_rng_range(&rng, 1, 300),
               (size_t)tw_rng_range(&rng, 1, 300), 100 + (unsigned long)i);
  static const size_t primes[][3] = {{97, 89, 101}, {127, 131, 61}, {251, 7, 193}, {3, 257, 5}};
  for (size_t i = 0; i < 4; i++)
    check_case(ctx, dev, primes[i][0], primes[i][1], primes[i][2], 200 + i);
  check_case(ctx, dev, 1, 300, 1, 301);
  check_case(ctx, dev, 1, 1, 1, 302);
  check_case(ctx, dev, 77, 1, 130, 303); /* K = 1 */
  /* suite 3: Whisper sizes */
  if (whisper_sizes) {
    check_case(ctx, dev, 3001, 512, 512, 401);
    check_case(ctx, dev, 1500, 512, 2048, 402);
    check_case(ctx, dev, 1500, 2048, 512, 403);
    check_case(ctx, dev, 1, 512, 51865, 404);
  }
  tw_context_destroy(ctx);
}

int main(void) {
  run_device("ref", 0); /* the scalar device is too slow for the large suite */
  run_device("fixed", 1);
  run_device("cpu", 1);
  run_device("emu", 1);
  run_device("opencl", 1);
  return tw_test_finish("test_gemm_accuracy");
}

/* The seed's three accuracy suites on every device compiled in:
 * 64x64 basic; arbitrary sizes (random 1..300, primes, 1xKx1, K = 1);
 * Whisper sizes.  Bounds: relative Frobenius error <= 1e-5 against the fp64
 * reference on bf16-rounded inputs and <= 5e-3 against unrounded inputs.
 * Each case's data and references are built once and checked on every
 * device. */
#include <stdlib.h>
#include <string.h>

#include "gemm_case.h"
#include "tw_test.h"

static const char *device_names[] = {"ref", "fixed", "emu", "cpu", "opencl"};
enum { N_DEVICES = sizeof device_names / sizeof device_names[0] };
static tw_device *devices[N_DEVICES];
static tw_stream *streams[N_DEVICES];

static void open_devices(void) {
  for (int d = 0; d < N_DEVICES; d++) {
    tw_device_options o;
    tw_device_options_init(&o);
    o.name = device_names[d];
    o.threads = 2;
    int rc = tw_device_create(&o, &devices[d]);
    if (rc == TW_ENOTFOUND || (rc == TW_EDEVICE && strstr(tw_last_error(), "clGetPlatformIDs"))) {
      printf("device %s not compiled in or no platform: not tested here\n", device_names[d]);
      continue;
    }
    CHECK_MSG(rc == TW_OK, "create %s: %s", device_names[d], tw_last_error());
    if (rc) continue;
    tw_stream_options so;
    tw_stream_options_init(&so);
    so.borrow_device_pool = 1;
    rc = tw_stream_create(devices[d], &so, &streams[d]);
    CHECK_MSG(rc == TW_OK, "stream on %s: %s", device_names[d], tw_last_error());
  }
}

/* `slow_ok`: whether the scalar ref device takes part (not for Whisper sizes) */
static void check_case(size_t m, size_t k, size_t n, unsigned long seed, int slow_ok) {
  gemm_case gc;
  int rc = gemm_case_make(&gc, m, k, n, (seed & 1) != 0, seed);
  CHECK_MSG(rc == TW_OK, "case %zux%zux%zu: out of memory", m, k, n);
  if (rc) return;
  for (int d = 0; d < N_DEVICES; d++) {
    tw_stream *s = streams[d];
    if (!s || (!slow_ok && d == 0)) continue;
    const char *dev = device_names[d];
    gemm_case_result r = gemm_case_check(s, &gc, NULL);
    CHECK_MSG(r.status == TW_OK, "%s %zux%zux%zu: %s", dev, m, k, n, tw_stream_last_error(s));
    CHECK_MSG(r.rel_err_bf16 <= 1e-5, "%s %zux%zux%zu: rel err vs bf16 inputs %.3g", dev, m, k,
              n, r.rel_err_bf16);
    CHECK_MSG(r.rel_err_fp32 <= 5e-3, "%s %zux%zux%zu: rel err vs fp32 inputs %.3g", dev, m, k,
              n, r.rel_err_fp32);
    printf("  %-6s %5zux%5zux%6zu  rel_err(bf16 in) %.2e  rel_err(fp32 in) %.2e  max_abs %.2e"
           "  inv %llu\n",
           dev, m, k, n, r.rel_err_bf16, r.rel_err_fp32, r.max_abs_err,
           (unsigned long long)r.stats.invocations);
  }
  gemm_case_free(&gc);
}

int main(void) {
  open_devices();
  /* suite 1: 64x64 basic */
  check_case(64, 64, 64, 1, 1);
  /* suite 2: arbitrary sizes */
  tw_rng rng = {7};
  for (int i = 0; i < 12; i++) {
    size_t m = (size_t)tw_rng_range(&rng, 1, 300), k = (size_t)tw_rng_range(&rng, 1, 300);
    check_case(m, k, (size_t)tw_rng_range(&rng, 1, 300), 100 + (unsigned long)i, 1);
  }
  static const size_t primes[][3] = {{97, 89, 101}, {127, 131, 61}, {251, 7, 193}, {3, 257, 5}};
  for (size_t i = 0; i < 4; i++) check_case(primes[i][0], primes[i][1], primes[i][2], 200 + i, 1);
  check_case(1, 300, 1, 301, 1);
  check_case(1, 1, 1, 302, 1);
  check_case(77, 1, 130, 303, 1); /* K = 1 */
  /* suite 3: Whisper sizes */
  check_case(3001, 512, 512, 401, 0);
  check_case(1500, 512, 2048, 402, 0);
  check_case(1500, 2048, 512, 403, 0);
  check_case(1, 512, 51865, 404, 0);
  for (int d = 0; d < N_DEVICES; d++) {
    tw_stream_destroy(streams[d]);
    tw_device_destroy(devices[d]);
  }
  return tw_test_finish("test_gemm_accuracy");
}

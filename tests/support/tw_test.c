#include <math.h>
#include "tw_test.h"

#include <stdlib.h>

int tw_test_failures;
int tw_test_checks;

int tw_test_finish(const char *name) {
  printf("%s: %d passed, %d failed\n", name, tw_test_checks - tw_test_failures, tw_test_failures);
  return tw_test_failures ? 1 : 0;
}

uint64_t tw_rng_next(tw_rng *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double tw_rng_uniform(tw_rng *r) { return (double)(tw_rng_next(r) >> 11) * 0x1.0p-53; }

double tw_rng_normal(tw_rng *r) {
  double u1 = tw_rng_uniform(r), u2 = tw_rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int tw_rng_range(tw_rng *r, int lo, int hi) {
  return lo + (int)(tw_rng_next(r) % (uint64_t)(hi - lo + 1));
}

void tw_fill_uniform(tw_rng *r, float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)tw_rng_uniform(r);
}

const char *tw_test_data(const char *file) {
  static char path[4096];
  const char *dir = getenv("TW_TEST_DATA");
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", file);
  return path;
}

double tw_test_bf16_round(double x) {
  int e;
  double m = frexp(x, &e);
  return ldexp(nearbyint(ldexp(m, 8)), e - 8);
}

tw_device *tw_test_open_device(const char *name, int threads, tw_stream **s) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = name;
  o.threads = threads;
  tw_device *dev = NULL;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  *s = NULL;
  int rc = tw_device_create(&o, &dev);
  if (!rc) rc = tw_stream_create(dev, &so, s);
  CHECK_MSG(rc == TW_OK, "%s: %s", name ? name : "default device", tw_last_error());
  if (rc) {
    tw_device_destroy(dev);
    return NULL;
  }
  return dev;
}

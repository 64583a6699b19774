/* Bad input: every case returns an error code with a message naming the
 * problem, and leaves C untouched. */
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "tw_test.h"
#include "tw_test_stack.h"

enum { M = 5, K = 7, N = 3 };

/* A device and one stream on it (NULL when the device is not here); drop()
 * destroys both. */
static tw_stream *make(const char *device) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = device;
  o.threads = 1;
  tw_device *dev = NULL;
  int rc = tw_device_create(&o, &dev);
  if (rc == TW_ENOTFOUND || (rc == TW_EDEVICE && strstr(tw_last_error(), "clGetPlatformIDs")))
    return NULL;
  CHECK_MSG(rc == TW_OK, "%s: %s", device, tw_last_error());
  if (rc) return NULL;
  tw_stream *s = tw_test_stream_on(dev);
  CHECK_MSG(s != NULL, "%s stream: %s", device, tw_last_error());
  return s;
}

static void drop(tw_stream *s) { tw_test_stream_drop(s); }

static int c_untouched(const float *c, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (c[i] != 12345.0f) return 0;
  return 1;
}

#define EXPECT_FAIL(call, code, needle)                                                   \
  do {                                                                                    \
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) c[q] = 12345.0f;                  \
    int rc_ = (call);                                                                     \
    CHECK_MSG(rc_ == (code), "%s: got %s (%s)", #call, tw_status_name(rc_), tw_last_error()); \
    CHECK_MSG(strstr(tw_last_error(), needle) != NULL, "message '%s' lacks '%s'",         \
              tw_last_error(), needle);                                                   \
    CHECK(c_untouched(c, sizeof c / sizeof c[0]));                                        \
  } while (0)

static void run(const char *device) {
  tw_stream *s = make(device), *other = make(device);
  if (!s || !other) {
    printf("device %s not compiled in\n", device);
    drop(s);
    drop(other);
    return;
  }
  tw_device *dev = tw_stream_device(s);
  float a[M * K], w[K * N], c[M * N * 2];
  for (int i = 0; i < M * K; i++) a[i] = 1.0f;
  for (int i = 0; i < K * N; i++) w[i] = 1.0f;
  tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N, .name = "proj"};
  tw_weight *wt = NULL, *foreign = NULL, *bad = NULL;
  CHECK(tw_weight_prepare(dev, &d, &wt) == TW_OK);
  CHECK(tw_weight_prepare(tw_stream_device(other), &d, &foreign) == TW_OK);

  EXPECT_FAIL(tw_gemm(NULL, M, K, a, TW_DTYPE_F32, K, wt, c, N, NULL), TW_EINVAL, "stream");
  EXPECT_FAIL(tw_gemm(s, M, K, NULL, TW_DTYPE_F32, K, wt, c, N, NULL), TW_EINVAL, "A is NULL");
  EXPECT_FAIL(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, NULL, c, N, NULL), TW_EINVAL, "weight");
  EXPECT_FAIL(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, wt, NULL, N, NULL), TW_EINVAL, "C is NULL");
  EXPECT_FAIL(tw_gemm(s, 0, K, a, TW_DTYPE_F32, K, wt, c, N, NULL), TW_EINVAL, "0x7");
  /* a negative count passed through size_t is huge: caught as overflow */
  EXPECT_FAIL(tw_gemm(s, (size_t)-5, K, a, TW_DTYPE_F32, K, wt, c, N, NULL), TW_EOVERFLOW,
              "too large");
  EXPECT_FAIL(tw_gemm(s, M, K - 1, a, TW_DTYPE_F32, K, wt, c, N, NULL), TW_ESHAPE, "proj");
  EXPECT_FAIL(tw_gemm(s, M, K, a, TW_DTYPE_F32, K - 1, wt, c, N, NULL), TW_EINVAL, "lda 6");
  EXPECT_FAIL(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, wt, c, N - 1, NULL), TW_EINVAL, "ldc 2");
  EXPECT_FAIL(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, foreign, c, N, NULL), TW_EWRONGDEVICE,
              "another device");
  EXPECT_FAIL(tw_gemm(s, M, K, a, (tw_dtype)99, K, wt, c, N, NULL), TW_EINVAL, "dtype");
  EXPECT_FAIL(tw_gemm(s, 1u << 20, K, a, TW_DTYPE_F32, SIZE_MAX / 8, wt, c, N, NULL),
              TW_EOVERFLOW, "overflow");
  tw_gemm_options bad_kernel = {.kernel = "3x3x3"};
  EXPECT_FAIL(tw_gemm_ex(s, M, K, a, TW_DTYPE_F32, K, wt, c, N, &bad_kernel, NULL),
              TW_ENOTFOUND, "3x3x3");
  /* the stream's own message matches */
  CHECK(strstr(tw_stream_last_error(s), "3x3x3") != NULL);

  /* weight descriptors */
  tw_weight_desc bd = d;
  bd.ld = N - 1;
  CHECK(tw_weight_prepare(dev, &bd, &bad) == TW_EINVAL && bad == NULL);
  CHECK(strstr(tw_last_error(), "leading dimension") && strstr(tw_last_error(), "proj"));
  bd = d;
  bd.k = 0;
  CHECK(tw_weight_prepare(dev, &bd, &bad) == TW_EINVAL && bad == NULL);
  bd = d;
  bd.data = NULL;
  CHECK(tw_weight_prepare(dev, &bd, &bad) == TW_EINVAL && bad == NULL);
  bd = d;
  bd.n = (size_t)1 << 40;
  bd.ld = bd.n;
  CHECK(tw_weight_prepare(dev, &bd, &bad) == TW_EOVERFLOW && bad == NULL);
  CHECK(tw_weight_prepare(NULL, &d, &bad) == TW_EINVAL && bad == NULL);

  /* allocation failure while preparing: error, nothing leaks (ASan) */
  for (long nth = 1; nth <= 3; nth++) {
    tw_mem_fail_after(nth);
    int rc = tw_weight_prepare(dev, &d, &bad);
    tw_mem_fail_after(0);
    CHECK(rc == TW_OK || rc == TW_ENOMEM);
    tw_weight_destroy(bad);
    bad = NULL;
  }

  /* the good call still works afterwards */
  for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) c[q] = 0;
  CHECK(tw_gemm(s, M, K, a, TW_DTYPE_F32, K, wt, c, N, NULL) == TW_OK);
  CHECK(c[0] == (float)K && c[M * N - 1] == (float)K);

  tw_weight_destroy(wt);
  tw_weight_destroy(foreign);
  drop(s);
  drop(other);
}

int main(void) {
  tw_device *dev = NULL;
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = "no-such-device";
  CHECK(tw_device_create(&o, &dev) == TW_ENOTFOUND && dev == NULL);
  CHECK(strstr(tw_last_error(), "no-such-device") != NULL);
  o.name = "fixed";
  o.kernels = "64x64";
  CHECK(tw_device_create(&o, &dev) == TW_EINVAL && dev == NULL);
  CHECK(strstr(tw_last_error(), "64x64") != NULL);
  o.kernels = NULL;
  o.threads = -3;
  CHECK(tw_device_create(&o, &dev) == TW_EINVAL);
  CHECK(tw_strerror(TW_ESHAPE)[0] && strcmp(tw_status_name(TW_EBOUNDS), "TW_EBOUNDS") == 0);
  tw_stream_destroy(NULL);
  tw_device_destroy(NULL);
  tw_weight_destroy(NULL);
  run("ref");
  run("fixed");
  run("cpu");
  run("emu");
  run("opencl");
  return tw_test_finish("test_gemm_errors");
}

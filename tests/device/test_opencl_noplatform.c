/* The `opencl` device on a machine without an OpenCL platform: the ICD
 * loader is pointed at an empty vendor directory (OCL_ICD_VENDORS, read once
 * by the loader, so this runs in its own process before any OpenCL call).
 * Creation fails with TW_EDEVICE and a message naming clGetPlatformIDs and
 * its error code; the other devices keep working. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_test.h"

int main(void) {
  char dir[] = "/tmp/tw-no-icd-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK_MSG(0, "mkdtemp failed");
    return tw_test_finish("test_opencl_noplatform");
  }
  setenv("OCL_ICD_VENDORS", dir, 1);
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = "opencl";
  o.threads = 1;
  tw_device *dev = NULL;
  int rc = tw_device_create(&o, &dev);
  if (rc == TW_ENOTFOUND) {
    printf("opencl not in this build: not tested\n");
  } else {
    CHECK_MSG(rc == TW_EDEVICE && dev == NULL, "got %s: %s", tw_status_name(rc), tw_last_error());
    CHECK_MSG(
        strstr(tw_last_error(), "clGetPlatformIDs returned -1001 (CL_PLATFORM_NOT_FOUND_KHR)"),
        "message: %s", tw_last_error());
    printf("  %s\n", tw_last_error());
    tw_device_destroy(dev);
  }
  /* the other devices are unaffected */
  o.name = "fixed";
  dev = NULL;
  CHECK(tw_device_create(&o, &dev) == TW_OK);
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.threads = 1;
  tw_stream *s = NULL;
  if (dev) CHECK(tw_stream_create(dev, &so, &s) == TW_OK);
  if (s) {
    float a[4] = {1, 2, 3, 4}, w[4] = {1, 0, 0, 1}, c[4] = {0};
    tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = 2, .n = 2, .ld = 2};
    tw_weight *wt = NULL;
    CHECK(tw_weight_prepare(dev, &d, &wt) == TW_OK);
    CHECK(tw_gemm(s, 2, 2, a, TW_DTYPE_F32, 2, wt, c, 2, NULL) == TW_OK);
    CHECK(c[0] == 1 && c[1] == 2 && c[2] == 3 && c[3] == 4);
    tw_weight_destroy(wt);
  }
  tw_stream_destroy(s);
  tw_device_destroy(dev);
  rmdir(dir);
  return tw_test_finish("test_opencl_noplatform");
}

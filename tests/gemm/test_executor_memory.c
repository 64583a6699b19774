/* Regression: scratch device buffers kept from an earlier call must not make
 * a later call fail when the plan itself fits the device memory.  On emu
 * with 12 MiB (large kernel set):
 *   call 1: 3001x512x512 on 3008x512x512a keeps A 3008x512 bf16 (3 MiB) and
 *           C 3008x512 fp32 (6 MiB) as scratch; weight 0.5 MiB.
 *   call 2: 3001x1024x64 on 512x512x512a: A 3072x1024 bf16 (6 MiB), 2 partial
 *           512x512 fp32 tiles (2 MiB), weight 1024x512 bf16 (1 MiB) = 9 MiB.
 * Growing A while call 1's 6 MiB C is still held would need 13 MiB. */
#include <stdlib.h>

#include "tw_test.h"

static int run(tw_stream *s, size_t m, size_t k, size_t n, const char *kernel) {
  float *a = calloc(m * k, sizeof(float)), *w = calloc(k * n, sizeof(float));
  float *c = calloc(m * n, sizeof(float));
  tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n};
  tw_weight *wt = NULL;
  int rc = tw_weight_prepare(tw_stream_device(s), &d, &wt);
  if (!rc) {
    tw_gemm_options o = {.kernel = kernel};
    rc = tw_gemm_ex(s, m, k, a, TW_DTYPE_F32, k, wt, c, n, &o, NULL);
  }
  CHECK_MSG(rc == TW_OK, "%zux%zux%zu on %s: %s", m, k, n, kernel ? kernel : "the planned kernel",
            tw_stream_last_error(s));
  tw_weight_destroy(wt);
  free(a), free(w), free(c);
  return rc;
}

int main(void) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = "emu";
  o.options = "mem_mb=12,large=1";
  o.threads = 1;
  tw_device *dev = NULL;
  tw_stream *s = NULL;
  int rc = tw_device_create(&o, &dev);
  CHECK_MSG(rc == TW_OK, "emu: %s", tw_last_error());
  if (!rc) {
    tw_stream_options so;
    tw_stream_options_init(&so);
    so.borrow_device_pool = 1;
    rc = tw_stream_create(dev, &so, &s);
    CHECK_MSG(rc == TW_OK, "stream: %s", tw_last_error());
  }
  if (!rc) {
    run(s, 3001, 512, 512, "3008x512x512a");
    run(s, 3001, 1024, 64, "512x512x512a");
    run(s, 3001, 512, 512, NULL);
  }
  tw_stream_destroy(s);
  tw_device_destroy(dev);
  return tw_test_finish("test_executor_memory");
}

/* cpu device: what it reports about itself, and bad input on every entry
 * point (NULL, zero dimensions, ld shorter than a row, wrong dtypes, a weight
 * from another kernel set, failed allocations) returning a code and a
 * message without touching C. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/threadpool.h"
#include "device/cpu/cpu.h"
#include "device/device.h"
#include "tw_test.h"

static int has_msg(const tw_device *dev) { return dev->err.msg[0] != '\0'; }

static void test_info(tw_device *dev) {
  CHECK(strcmp(dev->name, "cpu") == 0);
  CHECK(dev->n_kernels == 1);
  CHECK(strcmp(dev->kernels[0].name, "any") == 0);
  CHECK(dev->kernels[0].flags == (TW_KERNEL_ANY_SHAPE | TW_KERNEL_ACCUM_K));
  CHECK(dev->costs.host_memory == 1 && dev->costs.flops_per_s > 0);
  CHECK(dev->iface->submit == NULL && dev->iface->wait == NULL);
  CHECK(dev->iface->buffer_alloc == NULL && dev->iface->buffer_free == NULL);
  /* without TW_CPU_KERNEL the calibration picks a set the CPU runs
   * (test_cpu_calib checks which) */
  tw_cpu_kernels chosen;
  CHECK(tw_cpu_kernels_select(tw_cpu_device_isa(dev), &chosen) == 0);
  int listed = 0;
  for (const char *const *n = tw_device_kinds(); *n; n++) listed |= strcmp(*n, "cpu") == 0;
  CHECK(listed);
}

static void test_prepare_errors(tw_device *dev) {
  float w[6 * 5] = {0};
  void *h = (void *)&h;
  tw_weight_src ok = {.data = w, .dtype = TW_DTYPE_F32, .k = 6, .n = 5, .ld = 5,
                      .storage = TW_DTYPE_F32};
  CHECK(dev->iface->weight_prepare(dev, NULL, &h) == TW_EINVAL && h == NULL && has_msg(dev));
  CHECK(dev->iface->weight_prepare(dev, &ok, NULL) == TW_EINVAL);
  tw_weight_src s = ok;
  s.data = NULL;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && h == NULL);
  s = ok, s.k = 0;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && strstr(dev->err.msg, "0 x 5"));
  s = ok, s.n = 0;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL);
  s = ok, s.ld = 4;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && strstr(dev->err.msg, "ld 4"));
  s = ok, s.transposed = 1, s.ld = 5; /* N x K rows are 6 long */
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && strstr(dev->err.msg, "transposed"));
  s = ok, s.dtype = (tw_dtype)9;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && strstr(dev->err.msg, "dtype"));
  s = ok, s.storage = TW_DTYPE_F16;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EINVAL && strstr(dev->err.msg, "storage"));
  s = ok, s.k = (size_t)1 << 62, s.n = (size_t)1 << 62, s.ld = s.n;
  CHECK(dev->iface->weight_prepare(dev, &s, &h) == TW_EOVERFLOW);
  /* allocation failure: ENOMEM, nothing leaked (ASan) */
  tw_mem_fail_after(1);
  CHECK(dev->iface->weight_prepare(dev, &ok, &h) == TW_ENOMEM && h == NULL);
  tw_mem_fail_after(2);
  CHECK(dev->iface->weight_prepare(dev, &ok, &h) == TW_ENOMEM && h == NULL);
  tw_mem_fail_after(0);
  dev->iface->weight_release(dev, NULL); /* no-op */
}

static void test_gemm_errors(tw_device *dev) {
  float w[6 * 5], a[7 * 6], c[7 * 5];
  for (int i = 0; i < 30; i++) w[i] = (float)i;
  for (int i = 0; i < 42; i++) a[i] = 1.0f;
  tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = 6, .n = 5, .ld = 5,
                       .storage = TW_DTYPE_BF16};
  void *h = NULL;
  CHECK(dev->iface->weight_prepare(dev, &src, &h) == TW_OK);
  tw_direct_gemm ok = {.m = 7, .k = 6, .n = 5, .a = a, .a_type = TW_DTYPE_F32, .lda = 6,
                       .a_compute = TW_DTYPE_BF16, .weight = h, .c = c, .ldc = 5};
  for (int i = 0; i < 35; i++) c[i] = -1.0f;
  tw_direct_gemm g;
  CHECK(dev->iface->gemm(dev, NULL) == TW_EINVAL && has_msg(dev));
  g = ok, g.a = NULL;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL);
  g = ok, g.c = NULL;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL);
  g = ok, g.weight = NULL;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL);
  g = ok, g.m = 0;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL && strstr(dev->err.msg, "0x6x5"));
  g = ok, g.k = 5;
  CHECK(dev->iface->gemm(dev, &g) == TW_ESHAPE && strstr(dev->err.msg, "6 x 5"));
  g = ok, g.n = 4;
  CHECK(dev->iface->gemm(dev, &g) == TW_ESHAPE);
  g = ok, g.lda = 5;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL && strstr(dev->err.msg, "lda 5"));
  g = ok, g.ldc = 4;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL && strstr(dev->err.msg, "ldc 4"));
  g = ok, g.a_type = TW_DTYPE_F16;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL);
  g = ok, g.a_compute = TW_DTYPE_F16;
  CHECK(dev->iface->gemm(dev, &g) == TW_EINVAL);
  int untouched = 1;
  for (int i = 0; i < 35; i++) untouched &= c[i] == -1.0f;
  CHECK(untouched);
  /* small M copies A once into a kept buffer: its allocation can fail */
  g = ok, g.m = 2;
  tw_mem_fail_after(1);
  CHECK(dev->iface->gemm(dev, &g) == TW_ENOMEM && strstr(dev->err.msg, "A"));
  tw_mem_fail_after(0);
  CHECK(dev->iface->gemm(dev, &g) == TW_OK);
  /* the default compute type (0) is bf16 */
  g = ok, g.a_compute = TW_DTYPE_DEFAULT;
  CHECK(dev->iface->gemm(dev, &g) == TW_OK);
  dev->iface->weight_release(dev, h);
}

/* A weight packed for one kernel set's NR is refused by a device whose set
 * has another NR. */
static void test_wrong_set(void) {
  tw_device *devs[3] = {NULL, NULL, NULL};
  static const char *const isas[3] = {"generic", "avx2", "avx512"};
  for (int i = 0; i < 3; i++) {
    setenv("TW_CPU_KERNEL", isas[i], 1);
    tw_device_config cfg = {0};
    if (tw_registry_create("cpu", &cfg, &devs[i]) != TW_OK) devs[i] = NULL;
  }
  unsetenv("TW_CPU_KERNEL");
  CHECK(devs[0] != NULL);
  if (devs[0] && devs[2]) {
    float w[4] = {1, 2, 3, 4}, a[5 * 2] = {0}, c[5 * 2];
    tw_weight_src src = {.data = w, .dtype = TW_DTYPE_F32, .k = 2, .n = 2, .ld = 2,
                         .storage = TW_DTYPE_F32};
    void *h = NULL;
    CHECK(devs[0]->iface->weight_prepare(devs[0], &src, &h) == TW_OK);
    tw_direct_gemm g = {.m = 5, .k = 2, .n = 2, .a = a, .a_type = TW_DTYPE_F32, .lda = 2,
                        .a_compute = TW_DTYPE_F32, .weight = h, .c = c, .ldc = 2};
    CHECK(devs[2]->iface->gemm(devs[2], &g) == TW_EWRONGDEVICE);
    CHECK(devs[0]->iface->gemm(devs[0], &g) == TW_OK);
    devs[0]->iface->weight_release(devs[0], h);
  }
  for (int i = 0; i < 3; i++) tw_device_destroy(devs[i]);
}

int main(void) {
  tw_threadpool *pool = NULL;
  CHECK(tw_threadpool_create(2, &pool) == TW_OK);
  tw_device_config cfg = {.pool = pool};
  tw_device *dev = NULL;
  unsetenv("TW_CPU_KERNEL");
  CHECK(tw_registry_create("cpu", &cfg, &dev) == TW_OK && dev);
  if (dev) {
    test_info(dev);
    test_prepare_errors(dev);
    test_gemm_errors(dev);
  }
  tw_device_destroy(dev);
  test_wrong_set();

  /* an unknown forced kernel set is refused at creation */
  setenv("TW_CPU_KERNEL", "sse9", 1);
  CHECK(tw_registry_create("cpu", &cfg, &dev) == TW_EUNSUPPORTED && dev == NULL);
  CHECK(strstr(tw_last_error(), "sse9") != NULL);
  unsetenv("TW_CPU_KERNEL");
  /* bad option values */
  tw_device_config bad = {.pool = pool, .options = "mc=abc"};
  CHECK(tw_registry_create("cpu", &bad, &dev) == TW_EINVAL && dev == NULL);
  CHECK(strstr(tw_last_error(), "mc=abc") != NULL);
  bad.options = "kc=0";
  CHECK(tw_registry_create("cpu", &bad, &dev) == TW_EINVAL && dev == NULL);
  bad.options = "kc=96,mc=100";
  CHECK(tw_registry_create("cpu", &bad, &dev) == TW_OK && dev != NULL);
  tw_device_destroy(dev);
  /* creation's allocation failing */
  tw_mem_fail_after(1);
  CHECK(tw_registry_create("cpu", &cfg, &dev) == TW_ENOMEM && dev == NULL);
  tw_mem_fail_after(0);
  tw_threadpool_destroy(pool);
  return tw_test_finish("test_cpu_errors");
}

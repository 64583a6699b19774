/* Device options: every key must be one the device reads, written either
 * as --device-options or after the name ("emu:large=1"); a misspelt key is
 * refused naming it and listing the valid ones, never silently ignored. */
#include <string.h>

#include "device/device.h"
#include "tw_test.h"

static int create(const char *name, const char *options) {
  tw_device_config cfg = {.options = options};
  tw_device *dev = NULL;
  int rc = tw_registry_create(name, &cfg, &dev);
  CHECK(rc == 0 ? dev != NULL : dev == NULL);
  tw_device_destroy(dev);
  return rc;
}

static void expect_refused(const char *name, const char *options, const char *w1, const char *w2) {
  int rc = create(name, options);
  CHECK_MSG(rc == TW_EINVAL, "%s / %s: rc %d", name, options ? options : "-", rc);
  CHECK_MSG(strstr(tw_last_error(), w1) && (!w2 || strstr(tw_last_error(), w2)),
            "%s / %s: '%s' lacks '%s' or '%s'", name, options ? options : "-", tw_last_error(),
            w1, w2 ? w2 : "");
}

int main(void) {
  /* the keys each device documents are accepted, in both spellings */
  CHECK_MSG(create("emu:large=1", NULL) == 0, "%s", tw_last_error());
  CHECK_MSG(create("emu", "large=1,mem_mb=64") == 0, "%s", tw_last_error());
  CHECK_MSG(create("emu:profile=xdna1", "call_us=0") == 0, "%s", tw_last_error());
  CHECK_MSG(create("fixed", "invoke_us=10,gbps=20") == 0, "%s", tw_last_error());
  CHECK_MSG(create("cpu", "mc=48,kc=256") == 0, "%s", tw_last_error());
  CHECK_MSG(create("ref", NULL) == 0 && create("ref:", "") == 0, "%s", tw_last_error());

  /* misspelt and foreign keys: named, with the valid list */
  expect_refused("emu:lrage=1", NULL, "'lrage'", "large, mem_mb");
  expect_refused("emu", "x=y", "'x'", "kernel_kb");
  expect_refused("emu", "large=1,memmb=5", "'memmb'", "mem_mb");
  expect_refused("fixed", "mc=4", "'mc'", "invoke_us, submit_us, gbps, gflops");
  expect_refused("cpu:kc=64", "mx=3", "'mx'", "mc, kc");
  expect_refused("ref", "mc=1", "'mc'", "none");
  /* a key without a value, a bare word after the name */
  expect_refused("emu", "large", "'large' needs a value", NULL);
  expect_refused("cpu:fast", NULL, "'fast' is not an option", "cpu:key=value");
  expect_refused("emu:1", NULL, "'1' is not an option", NULL);
  /* the check alone, as data */
  static const char *const keys[] = {"a", "bb", NULL};
  tw_errbuf err = {{0}};
  CHECK(tw_device_options_check("d", "a=1,bb=2,,a=3", keys, &err) == 0);
  CHECK(tw_device_options_check("d", NULL, keys, &err) == 0);
  CHECK(tw_device_options_check("d", "b=1", keys, &err) == TW_EINVAL && strstr(err.msg, "a, bb"));
  CHECK(tw_device_options_check("d", "=1", keys, &err) == TW_EINVAL && strstr(err.msg, "''"));
  return tw_test_finish("test_device_options");
}

/* `fixed`: a minimal synchronous device with fixed kernel shapes.
 *
 * It runs each submission at once on the host with the portable tile kernel
 * and offers only the shapes it was created with (default: the seed's three
 * 64x64x64, 64x64x512 and 128x64x512, none accumulating over K), so the
 * planner is exercised on fixed shapes.  Its cost figures are the planner's
 * inputs only; they default to an XDNA-like NPU and can be set with the
 * options invoke_us, submit_us, gbps and gflops. */
#include <stdlib.h>

#include "device/device.h"
#include "device/registry.h"
#include "core/mem.h"


static const tw_device_iface fixed_iface = {
    .destroy = tw_sync_destroy,
    .buffer_alloc = tw_host_buffer_alloc,
    .buffer_free = tw_host_buffer_free,
    .submit = tw_sync_submit,
    .wait = tw_sync_wait,
};

/* A positive number option, `fallback` when absent, -1 when malformed. */
static double option_number(const char *options, const char *key, double fallback) {
  double d = fallback;
  return tw_option_number(options, key, &d) < 0 || !(d > 0) ? -1.0 : d;
}

const char *const tw_fixed_option_keys[] = {"invoke_us", "submit_us", "gbps", "gflops", NULL};

int tw_fixed_device_create(const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  tw_device *dev = tw_device_alloc(&fixed_iface, "fixed");
  if (!dev) return tw_err(NULL, TW_ENOMEM, "fixed: out of memory");
  dev->impl = tw_calloc_aligned(1, sizeof(tw_sync_state));
  if (!dev->impl) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_ENOMEM, "fixed: out of memory");
  }
  int rc = tw_kernel_spec_parse(dev, cfg && cfg->kernels ? cfg->kernels : TW_DEFAULT_FIXED_KERNELS);
  if (rc) {
    tw_err(NULL, rc, "%s", dev->err.msg);
    tw_device_destroy(dev);
    return rc;
  }
  const char *opts = cfg ? cfg->options : NULL;
  tw_device_costs *c = &dev->costs;
  c->invoke_s = option_number(opts, "invoke_us", 50.0) * 1e-6;
  c->submit_s = option_number(opts, "submit_us", 20.0) * 1e-6;
  c->h2d_bytes_per_s = c->d2h_bytes_per_s = option_number(opts, "gbps", 55.0) * 1e9;
  c->flops_per_s = option_number(opts, "gflops", 1940.0) * 1e9;
  c->overlap = 0;
  c->host_memory = 1;
  if (c->invoke_s < 0 || c->submit_s < 0 || c->h2d_bytes_per_s < 0 || c->flops_per_s < 0) {
    tw_device_destroy(dev);
    return tw_err(NULL, TW_EINVAL, "fixed: options '%s': each value must be a positive number",
                  opts);
  }
  dev->pool = cfg ? cfg->pool : NULL;
  *out = dev;
  return TW_OK;
}

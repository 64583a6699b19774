#include "device/registry.h"

#include <string.h>

typedef struct device_entry {
  const char *name;
  tw_device_create_fn create;
} device_entry;

static const device_entry devices[] = {
    {"ref", tw_ref_device_create},
    {"fixed", tw_fixed_device_create},
    {"emu", tw_emu_device_create},
    {"cpu", tw_cpu_device_create},
#ifdef TW_HAVE_OPENCL
    {"opencl", tw_opencl_device_create},
#endif
};

static const char *const device_names[] = {"cpu", "ref", "fixed", "emu",
#ifdef TW_HAVE_OPENCL
                                           "opencl",
#endif
                                           NULL};

const char *const *tw_device_names(void) { return device_names; }

int tw_device_create(const char *name, const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  if (!name) return tw_err(NULL, TW_EINVAL, "device name is NULL");
  const char *colon = strchr(name, ':');
  size_t len = colon ? (size_t)(colon - name) : strlen(name);
  for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
    if (strlen(devices[i].name) == len && strncmp(devices[i].name, name, len) == 0) {
      tw_device_config c = cfg ? *cfg : (tw_device_config){0};
      c.selector = colon ? colon + 1 : NULL;
      return devices[i].create(&c, out);
    }
  }
  return tw_err(NULL, TW_ENOTFOUND, "unknown device '%s' (try 'tilewhisper devices')", name);
}

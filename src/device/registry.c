/* The one list of devices compiled in, and opening a device by name. */
#include "device/registry.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

typedef struct device_entry {
  const char *name;
  tw_device_create_fn create;
} device_entry;

/* The default device first. */
static const device_entry devices[] = {
    {"cpu", tw_cpu_device_create},
    {"ref", tw_ref_device_create},
    {"fixed", tw_fixed_device_create},
    {"emu", tw_emu_device_create},
#ifdef TW_HAVE_OPENCL
    {"opencl", tw_opencl_device_create},
#endif
};
#define N_DEVICES (sizeof devices / sizeof devices[0])

static const char *device_names[N_DEVICES + 1];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void fill_names(void) {
  for (size_t i = 0; i < N_DEVICES; i++) device_names[i] = devices[i].name;
  device_names[N_DEVICES] = NULL;
}

const char *const *tw_device_kinds(void) {
  pthread_once(&names_once, fill_names);
  return device_names;
}

int tw_registry_create(const char *name, const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  if (!name) return tw_err(NULL, TW_EINVAL, "device name is NULL");
  const char *colon = strchr(name, ':');
  size_t len = colon ? (size_t)(colon - name) : strlen(name);
  for (size_t i = 0; i < N_DEVICES; i++) {
    if (strlen(devices[i].name) == len && strncmp(devices[i].name, name, len) == 0) {
      tw_device_config c = cfg ? *cfg : (tw_device_config){0};
      c.selector = colon ? colon + 1 : NULL;
      return devices[i].create(&c, out);
    }
  }
  return tw_err(NULL, TW_ENOTFOUND, "unknown device '%s' (try 'tilewhisper devices')", name);
}

int tw_device_create(const tw_device_options *opts, tw_device **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_device_create: out is NULL");
  *out = NULL;
  tw_device_options defaults;
  if (!opts) {
    tw_device_options_init(&defaults);
    opts = &defaults;
  }
  if (opts->threads < 0 || opts->threads > 1024)
    return tw_err(NULL, TW_EINVAL, "tw_device_create: threads = %d is out of range 0..1024",
                  opts->threads);
  int threads = opts->threads ? opts->threads : tw_default_threads();
  tw_threadpool *pool = NULL;
  int rc = tw_threadpool_create(threads, &pool);
  if (rc) return tw_err(NULL, rc, "tw_device_create: cannot start %d threads", threads);
  tw_device_config cfg = {.kernels = opts->kernels, .options = opts->options, .pool = pool};
  tw_device *dev = NULL;
  rc = tw_registry_create(opts->name ? opts->name : "cpu", &cfg, &dev);
  if (rc) {
    tw_threadpool_destroy(pool); /* the device's message stays the thread's last error */
    return rc;
  }
  dev->pool = pool;
  dev->own_pool = pool;
  *out = dev;
  return TW_OK;
}

/* The one list of devices compiled in, and opening a device by name. */
#include "device/registry.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

typedef struct device_entry {
  const char *name;
  tw_device_create_fn create;
  const char *const *option_keys;
  int takes_selector; /* "opencl:P.D" */
} device_entry;

/* The default device first. */
static const device_entry devices[] = {
    {"cpu", tw_cpu_device_create, tw_cpu_option_keys, 0},
    {"ref", tw_ref_device_create, tw_ref_option_keys, 0},
    {"fixed", tw_fixed_device_create, tw_fixed_option_keys, 0},
    {"emu", tw_emu_device_create, tw_emu_option_keys, 0},
#ifdef TW_HAVE_OPENCL
    {"opencl", tw_opencl_device_create, tw_opencl_option_keys, 1},
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

/* The text after ':' in a device name is a comma list: "key=value" items
 * are options (as --device-options; they come first), one bare item is
 * the selector of a device that takes one. */
typedef struct parsed_name {
  char options[1024];
  char selector[64];
  int has_selector;
} parsed_name;

static int parse_name(const device_entry *d, const char *rest, const char *extra, parsed_name *p) {
  size_t o = 0;
  p->options[0] = '\0';
  p->has_selector = 0;
  for (const char *s = rest; s && *s;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    int is_option = memchr(s, '=', len) != NULL;
    if (!len) {
      /* empty item: skipped */
    } else if (is_option) {
      if (o + len + 2 >= sizeof p->options)
        return tw_err(NULL, TW_EINVAL, "%s: device options are too long", d->name);
      o += (size_t)snprintf(p->options + o, sizeof p->options - o, "%s%.*s", o ? "," : "",
                            (int)len, s);
    } else if (!d->takes_selector || p->has_selector || len >= sizeof p->selector) {
      return tw_err(NULL, TW_EINVAL,
                    "device '%s': '%.*s' is not an option (options are written %s:key=value or "
                    "--device-options key=value)",
                    d->name, (int)len, s, d->name);
    } else {
      snprintf(p->selector, sizeof p->selector, "%.*s", (int)len, s);
      p->has_selector = 1;
    }
    s = end ? end + 1 : NULL;
  }
  if (extra && *extra) {
    if (o + strlen(extra) + 2 >= sizeof p->options)
      return tw_err(NULL, TW_EINVAL, "%s: device options are too long", d->name);
    snprintf(p->options + o, sizeof p->options - o, "%s%s", o ? "," : "", extra);
  }
  return tw_device_options_check(d->name, p->options, d->option_keys, NULL);
}

int tw_registry_create(const char *name, const tw_device_config *cfg, tw_device **out) {
  *out = NULL;
  if (!name) return tw_err(NULL, TW_EINVAL, "device name is NULL");
  const char *colon = strchr(name, ':');
  size_t len = colon ? (size_t)(colon - name) : strlen(name);
  for (size_t i = 0; i < N_DEVICES; i++) {
    if (strlen(devices[i].name) == len && strncmp(devices[i].name, name, len) == 0) {
      tw_device_config c = cfg ? *cfg : (tw_device_config){0};
      parsed_name p;
      int rc = parse_name(&devices[i], colon ? colon + 1 : NULL, c.options, &p);
      if (rc) return rc;
      c.options = p.options[0] ? p.options : NULL;
      c.selector = p.has_selector ? p.selector : NULL;
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

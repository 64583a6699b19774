/* Constructors of the devices compiled in; registry.c lists them by name. */
#ifndef TW_DEVICE_REGISTRY_H
#define TW_DEVICE_REGISTRY_H

#include "device/device.h"

int tw_ref_device_create(const tw_device_config *cfg, tw_device **out);
int tw_fixed_device_create(const tw_device_config *cfg, tw_device **out);
int tw_cpu_device_create(const tw_device_config *cfg, tw_device **out);
int tw_emu_device_create(const tw_device_config *cfg, tw_device **out);
#ifdef TW_HAVE_OPENCL
int tw_opencl_device_create(const tw_device_config *cfg, tw_device **out);
#endif

/* The option keys each device reads (NULL-terminated), defined beside the
 * code that reads them; the registry refuses any other key. */
extern const char *const tw_ref_option_keys[];
extern const char *const tw_fixed_option_keys[];
extern const char *const tw_cpu_option_keys[];
extern const char *const tw_emu_option_keys[];
#ifdef TW_HAVE_OPENCL
extern const char *const tw_opencl_option_keys[];
#endif

#endif

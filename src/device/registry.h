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

#endif

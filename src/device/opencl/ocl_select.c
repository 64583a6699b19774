/* OpenCL platform/device selection and error names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/opencl/ocl.h"
#include "core/mem.h"

const char *tw_ocl_error_name(cl_int code) {
  switch (code) {
#define TW_CL_ERR(name) \
  case name:            \
    return #name;
    TW_CL_ERR(CL_SUCCESS)
    TW_CL_ERR(CL_DEVICE_NOT_FOUND)
    TW_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
    TW_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
    TW_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    TW_CL_ERR(CL_OUT_OF_RESOURCES)
    TW_CL_ERR(CL_OUT_OF_HOST_MEMORY)
    TW_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
    TW_CL_ERR(CL_MEM_COPY_OVERLAP)
    TW_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
    TW_CL_ERR(CL_MAP_FAILURE)
    TW_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    TW_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
    TW_CL_ERR(CL_LINKER_NOT_AVAILABLE)
    TW_CL_ERR(CL_LINK_PROGRAM_FAILURE)
    TW_CL_ERR(CL_INVALID_VALUE)
    TW_CL_ERR(CL_INVALID_DEVICE_TYPE)
    TW_CL_ERR(CL_INVALID_PLATFORM)
    TW_CL_ERR(CL_INVALID_DEVICE)
    TW_CL_ERR(CL_INVALID_CONTEXT)
    TW_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
    TW_CL_ERR(CL_INVALID_COMMAND_QUEUE)
    TW_CL_ERR(CL_INVALID_HOST_PTR)
    TW_CL_ERR(CL_INVALID_MEM_OBJECT)
    TW_CL_ERR(CL_INVALID_BINARY)
    TW_CL_ERR(CL_INVALID_BUILD_OPTIONS)
    TW_CL_ERR(CL_INVALID_PROGRAM)
    TW_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
    TW_CL_ERR(CL_INVALID_KERNEL_NAME)
    TW_CL_ERR(CL_INVALID_KERNEL)
    TW_CL_ERR(CL_INVALID_ARG_INDEX)
    TW_CL_ERR(CL_INVALID_ARG_VALUE)
    TW_CL_ERR(CL_INVALID_ARG_SIZE)
    TW_CL_ERR(CL_INVALID_KERNEL_ARGS)
    TW_CL_ERR(CL_INVALID_WORK_DIMENSION)
    TW_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
    TW_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
    TW_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
    TW_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
    TW_CL_ERR(CL_INVALID_EVENT)
    TW_CL_ERR(CL_INVALID_OPERATION)
    TW_CL_ERR(CL_INVALID_BUFFER_SIZE)
    TW_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
#undef TW_CL_ERR
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
      return "unknown OpenCL error";
  }
}

int tw_ocl_fail(tw_errbuf *e, const char *call, cl_int code, const char *detail) {
  return tw_err(e, TW_EDEVICE, "opencl: %s returned %d (%s)%s%s", call, (int)code,
                tw_ocl_error_name(code), detail && *detail ? ": " : "", detail ? detail : "");
}

/* "P.D" -> indices; -1 on a malformed selector. */
static int parse_selector(const char *s, int *p, int *d) {
  char *end;
  long pv = strtol(s, &end, 10);
  if (end == s || *end != '.' || pv < 0 || pv > 64) return -1;
  const char *t = end + 1;
  long dv = strtol(t, &end, 10);
  if (end == t || *end != '\0' || dv < 0 || dv > 256) return -1;
  *p = (int)pv;
  *d = (int)dv;
  return 0;
}

static void info_string(cl_device_id d, cl_device_info what, char *buf, size_t cap) {
  buf[0] = '\0';
  if (clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
  buf[cap - 1] = '\0';
}

/* Devices of platform p (malloc'd array in *out). */
static int platform_devices(cl_platform_id p, cl_device_id **out, cl_uint *n, tw_errbuf *e) {
  *out = NULL;
  *n = 0;
  cl_int rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, n);
  if (rc == CL_DEVICE_NOT_FOUND || (rc == CL_SUCCESS && *n == 0)) {
    *n = 0;
    return TW_OK;
  }
  if (rc != CL_SUCCESS) return tw_ocl_fail(e, "clGetDeviceIDs", rc, NULL);
  *out = tw_calloc_aligned(*n, sizeof **out);
  if (!*out) return tw_err(e, TW_ENOMEM, "opencl: out of memory");
  rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, *n, *out, NULL);
  if (rc != CL_SUCCESS) {
    tw_free(*out);
    *out = NULL;
    return tw_ocl_fail(e, "clGetDeviceIDs", rc, NULL);
  }
  return TW_OK;
}

static int choose(tw_ocl *o, cl_platform_id *plats, cl_uint np, int want_p, int want_d,
                  tw_errbuf *e) {
  int found = 0, rc = TW_OK;
  /* pass 0: GPUs and accelerators; pass 1: anything (default selection) */
  for (int pass = want_p >= 0 ? 1 : 0; pass < 2 && !found && !rc; pass++) {
    for (cl_uint p = 0; p < np && !found && !rc; p++) {
      if (want_p >= 0 && (int)p != want_p) continue;
      cl_device_id *devs;
      cl_uint nd;
      if ((rc = platform_devices(plats[p], &devs, &nd, e))) break;
      if (want_p >= 0 && want_d >= (int)nd) {
        rc = tw_err(e, TW_ENOTFOUND, "opencl: device %d.%d not found (platform %d has %u device%s)",
                    want_p, want_d, want_p, nd, nd == 1 ? "" : "s");
      }
      for (cl_uint d = 0; d < nd && !found && !rc; d++) {
        if (want_d >= 0 && (int)d != want_d) continue;
        cl_device_type t = 0;
        clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof t, &t, NULL);
        if (pass == 0 && !(t & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR))) continue;
        o->platform = plats[p];
        o->device = devs[d];
        o->plat_idx = (int)p;
        o->dev_idx = (int)d;
        o->type = t;
        found = 1;
      }
      tw_free(devs);
    }
  }
  if (!rc && !found) rc = tw_err(e, TW_ENOTFOUND, "opencl: no OpenCL device on %u platform%s", np,
                                 np == 1 ? "" : "s");
  return rc;
}

int tw_ocl_select(tw_ocl *o, const char *selector, tw_errbuf *e) {
  int want_p = -1, want_d = -1;
  const char *sel = selector && *selector ? selector : getenv("TW_OPENCL_DEVICE");
  const char *origin = selector && *selector ? "device name" : "TW_OPENCL_DEVICE";
  if (sel && *sel && parse_selector(sel, &want_p, &want_d))
    return tw_err(e, TW_EINVAL, "opencl: %s selects '%s': expected P.D (platform.device, e.g. 0.0)",
                  origin, sel);
  cl_uint np = 0;
  cl_int rc = clGetPlatformIDs(0, NULL, &np);
  if (rc == CL_SUCCESS && np == 0) rc = -1001; /* loaders differ: report it one way */
  if (rc != CL_SUCCESS)
    return tw_ocl_fail(e, "clGetPlatformIDs", rc,
                       rc == -1001 ? "no OpenCL platform is installed (see the ICD loader's "
                                     "vendor files, /etc/OpenCL/vendors or $OCL_ICD_VENDORS)"
                                   : NULL);
  if (want_p >= (int)np)
    return tw_err(e, TW_ENOTFOUND, "opencl: platform %d not found (%u platform%s)", want_p, np,
                  np == 1 ? "" : "s");
  cl_platform_id *plats = tw_calloc_aligned(np, sizeof *plats);
  if (!plats) return tw_err(e, TW_ENOMEM, "opencl: out of memory");
  rc = clGetPlatformIDs(np, plats, NULL);
  int st = rc != CL_SUCCESS ? tw_ocl_fail(e, "clGetPlatformIDs", rc, NULL)
                            : choose(o, plats, np, want_p, want_d, e);
  tw_free(plats);
  if (st) return st;
  info_string(o->device, CL_DEVICE_NAME, o->dev_name, sizeof o->dev_name);
  info_string(o->device, CL_DRIVER_VERSION, o->driver, sizeof o->driver);
  o->plat_version[0] = '\0';
  clGetPlatformInfo(o->platform, CL_PLATFORM_VERSION, sizeof o->plat_version, o->plat_version,
                    NULL);
  o->plat_version[sizeof o->plat_version - 1] = '\0';
  clGetDeviceInfo(o->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof o->max_alloc, &o->max_alloc,
                  NULL);
  clGetDeviceInfo(o->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof o->global_mem, &o->global_mem,
                  NULL);
  return TW_OK;
}

/* Cost profiles of the emulated accelerator (`emu`).
 *
 * A profile turns what a run did (invocations, submissions, bytes each way,
 * flops) into *modeled* device time: a figure of what the run would cost on
 * the profiled hardware, never a measurement.  The emu device adds it up per
 * command as it runs (tw_exec_times.modeled_s); tw_emu_profile_model()
 * computes the same figure from counts alone, for any profile, so a bench
 * can print every profile's modeled time for one run. */
#ifndef TW_DEVICE_EMU_PROFILE_H
#define TW_DEVICE_EMU_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"

typedef struct tw_emu_profile {
  char name[16];      /* "seed", "xdna1", "custom" */
  double invoke_s;    /* fixed cost of one kernel invocation */
  double submit_s;    /* fixed cost of one submission */
  double h2d_bytes_per_s; /* 0 = copies cost nothing beyond invoke_s */
  double d2h_bytes_per_s;
  double flops_per_s; /* 0 = compute costs nothing beyond invoke_s */
} tw_emu_profile;

/* Named profiles: "seed" and "xdna1".  Returns TW_OK or TW_ENOTFOUND. */
int tw_emu_profile_get(const char *name, tw_emu_profile *out);

/* Names of the built-in profiles, NULL-terminated. */
const char *const *tw_emu_profile_names(void);

/* Reads profile=seed|xdna1|custom and the overrides invoke_us, submit_us,
 * gbps, gflops from a "key=value,..." option string (NULL = defaults: the
 * seed profile).  Overrides apply on top of the named profile; `custom`
 * starts from all zeros.  Errors carry a message in *err. */
int tw_emu_profile_from_options(const char *options, tw_emu_profile *out, tw_errbuf *err);

/* Modeled device time of a run, serial (no overlap credited):
 *   invocations*invoke_s + submissions*submit_s
 *   + bytes_to/h2d + bytes_from/d2h + flops/flops_per_s */
double tw_emu_profile_model(const tw_emu_profile *p, uint64_t invocations, uint64_t submissions,
                            uint64_t bytes_to, uint64_t bytes_from, double flops);

/* The planner's view of a profile (dev->costs): invoke, submit, bandwidths,
 * flops; mem_bytes and the rest are left to the caller. */
void tw_emu_profile_costs(const tw_emu_profile *p, tw_device_costs *costs);

#endif

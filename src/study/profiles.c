/* The emu device's cost profiles, exposed for the invocation study. */
#include "tilewhisper/study.h"

#include "device/emu/profile.h"

const char *const *tw_study_profiles(void) { return tw_emu_profile_names(); }

int tw_study_modeled_time(const char *profile, uint64_t invocations, uint64_t submissions,
                          uint64_t bytes_to_device, uint64_t bytes_from_device, double flops,
                          double *seconds) {
  if (!profile || !seconds)
    return tw_err(NULL, TW_EINVAL, "tw_study_modeled_time: %s is NULL", profile ? "seconds" : "profile");
  tw_emu_profile p;
  if (tw_emu_profile_get(profile, &p))
    return tw_err(NULL, TW_ENOTFOUND, "unknown cost profile '%s' (seed, xdna1)", profile);
  *seconds = tw_emu_profile_model(&p, invocations, submissions, bytes_to_device,
                                  bytes_from_device, flops);
  return TW_OK;
}

/* Cost profiles of the emulated accelerator; see profile.h. */
#include "device/emu/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seed's measured 54.4 ms per 64x64 call (seeds/000, "Overhead
 * Breakdown"): 0.5 ms XRT setup + 0.3 ms buffer allocation + 1.0 ms DMA +
 * 52 ms NPU compute + 0.6 ms Python.  The seed predicts its 64x512 and
 * 128x512 kernels at the same 54.4 ms per call (376 -> 20.4 s), so the whole
 * figure is a per-invocation constant, independent of the tile's bytes and
 * flops: bandwidth and flop rate are 0 (not modeled separately). */
#define SEED_INVOKE_S (0.5e-3 + 0.3e-3 + 1.0e-3 + 52.0e-3 + 0.6e-3)

/* XDNA1 (Phoenix, 4x4 AIE-ML array), from public measurements:
 *  - invocation: 45 us for an empty kernel moving no data, ~60 us for a
 *    trivial one, timed around kernel() + wait() through XRT
 *    (Xilinx/mlir-aie issue #2381); we take 50 us per invocation and charge
 *    nothing extra per submission (that figure already is a whole XRT run).
 *  - host<->NPU DMA: 55.5 GB/s effective for a 16 MiB memcpy design
 *    (Xilinx/mlir-aie PR #2559, before its AxCache change; 66.6 GB/s after).
 *  - bf16 GEMM: 1.94 TFLOP/s best run of 2048x4096x2048 with the matmul
 *    ukernel on the 4x4 array (nod-ai/iree-amd-aie PR #415). */
#define XDNA1_INVOKE_S 50e-6
#define XDNA1_BYTES_PER_S 55e9
#define XDNA1_FLOPS_PER_S 1.94e12

static const char *const profile_names[] = {"seed", "xdna1", NULL};

const char *const *tw_emu_profile_names(void) { return profile_names; }

int tw_emu_profile_get(const char *name, tw_emu_profile *out) {
  memset(out, 0, sizeof *out);
  if (!name) return TW_EINVAL;
  if (strcmp(name, "seed") == 0) {
    out->invoke_s = SEED_INVOKE_S;
  } else if (strcmp(name, "xdna1") == 0) {
    out->invoke_s = XDNA1_INVOKE_S;
    out->h2d_bytes_per_s = out->d2h_bytes_per_s = XDNA1_BYTES_PER_S;
    out->flops_per_s = XDNA1_FLOPS_PER_S;
  } else if (strcmp(name, "custom") != 0) {
    return TW_ENOTFOUND;
  }
  snprintf(out->name, sizeof out->name, "%s", name);
  return TW_OK;
}

/* Reads a non-negative number option; returns 1 if set, 0 if absent, -1 if
 * malformed. */
static int number_option(const char *options, const char *key, double *value) {
  double d = 0;
  int got = tw_option_number(options, key, &d);
  if (got <= 0) return got;
  if (!(d >= 0) || d > 1e18) return -1;
  *value = d;
  return 1;
}

int tw_emu_profile_from_options(const char *options, tw_emu_profile *out, tw_errbuf *err) {
  char name[32] = "seed";
  tw_option_get(options, "profile", name, sizeof name);
  if (tw_emu_profile_get(name, out))
    return tw_err(err, TW_EINVAL, "emu: unknown profile '%s' (seed, xdna1 or custom)", name);
  static const char *const keys[] = {"invoke_us", "submit_us", "gbps", "gflops"};
  for (int i = 0; i < 4; i++) {
    double v;
    int got = number_option(options, keys[i], &v);
    if (got < 0)
      return tw_err(err, TW_EINVAL, "emu: option %s: expected a non-negative number", keys[i]);
    if (!got) continue;
    if (i == 0) out->invoke_s = v * 1e-6;
    if (i == 1) out->submit_s = v * 1e-6;
    if (i == 2) out->h2d_bytes_per_s = out->d2h_bytes_per_s = v * 1e9;
    if (i == 3) out->flops_per_s = v * 1e9;
  }
  return TW_OK;
}

double tw_emu_profile_model(const tw_emu_profile *p, uint64_t invocations, uint64_t submissions,
                            uint64_t bytes_to, uint64_t bytes_from, double flops) {
  double t = (double)invocations * p->invoke_s + (double)submissions * p->submit_s;
  if (p->h2d_bytes_per_s > 0) t += (double)bytes_to / p->h2d_bytes_per_s;
  if (p->d2h_bytes_per_s > 0) t += (double)bytes_from / p->d2h_bytes_per_s;
  if (p->flops_per_s > 0) t += flops / p->flops_per_s;
  return t;
}

void tw_emu_profile_costs(const tw_emu_profile *p, tw_device_costs *c) {
  c->invoke_s = p->invoke_s;
  c->submit_s = p->submit_s;
  c->h2d_bytes_per_s = p->h2d_bytes_per_s;
  c->d2h_bytes_per_s = p->d2h_bytes_per_s;
  c->flops_per_s = p->flops_per_s;
}

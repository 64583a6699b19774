/* The cpu device's calibrated choice of kernels (docs/microkernel.md,
 * "Calibration").  Which kernel set and which A/W compute types are fastest
 * differs between CPUs (VDPBF16PS doubles the flops of an FMA on AMD Zen 4
 * and halves them on some Intel cores), so it is measured once per CPU and
 * library version, per shape class, and cached on disk. */
#ifndef TW_DEVICE_CPU_CALIB_H
#define TW_DEVICE_CPU_CALIB_H

#include <stddef.h>

#include "kernels/ukernel.h"
#include "tilewhisper/gemm.h"

/* How a product runs.  DP: bf16 weights, A rounded to bf16, VDPBF16PS.
 * A16: bf16 weights widened by the FMA kernels, A rounded to bf16.
 * A32: bf16 weights, A kept fp32.  F32W: fp32 weights, A kept fp32. */
enum { TW_CPU_MODE_DP, TW_CPU_MODE_A16, TW_CPU_MODE_A32, TW_CPU_MODE_F32W, TW_CPU_N_MODES };

/* Shape classes by M: GEMV M <= TW_CPU_STREAM_MAX_M (the streaming path),
 * SKINNY M <= 16, LARGE above. */
enum { TW_CPU_CLASS_LARGE, TW_CPU_CLASS_SKINNY, TW_CPU_CLASS_GEMV, TW_CPU_N_CLASSES };
#define TW_CPU_SKINNY_MAX_M 16
#define TW_CPU_MAX_CANDS 16

/* One measured candidate: a kernel set and a mode, GFLOP/s per class (0
 * where the mode does not apply). */
typedef struct tw_cpu_cand {
  const tw_cpu_kernels *ks;
  int mode;
  double gflops[TW_CPU_N_CLASSES];
} tw_cpu_cand;

/* Default (and BF16) compute means bf16 inputs: the engine's accuracy
 * contract (tests/gemm/test_gemm_accuracy.c) is measured against bf16-
 * rounded A and W.  So the calibration chooses how bf16 inputs are
 * multiplied (DP or A16) per class, and the kernel family; A32 and F32W
 * are measured to show what explicit fp32 (the encoder's --fp32) costs. */
typedef struct tw_cpu_choice {
  const tw_cpu_kernels *ks;   /* the set the device runs */
  int mode[TW_CPU_N_CLASSES]; /* a_compute DEFAULT or BF16: DP or A16 */
  int source; /* TW_CPU_FIXED (forced or calibrate=0), _MEASURED or _CACHED */
  int n_cands;
  tw_cpu_cand cands[TW_CPU_MAX_CANDS];
} tw_cpu_choice;
enum { TW_CPU_FIXED, TW_CPU_MEASURED, TW_CPU_CACHED };

int tw_cpu_class_of(size_t m);
const char *tw_cpu_mode_name(int mode);
const char *tw_cpu_class_name(int cls);

/* The uncalibrated choice for set ks: DP where the set has it, else A16. */
void tw_cpu_choice_fixed(const tw_cpu_kernels *ks, tw_cpu_choice *out);

/* The candidates for the usable sets, figures zeroed: every set's FMA modes
 * once per family, DP for sets that have it.  Returns the count. */
int tw_cpu_candidates(tw_cpu_cand *out, int cap);

/* Fills the choice from its candidates' figures: the family of the fastest
 * DP or A16 candidate on LARGE; per class the faster of that family's DP
 * and A16.  Returns 0, or -1 when no candidate has a LARGE figure. */
int tw_cpu_choose(tw_cpu_choice *c);

/* Measures (calib_measure.c) every candidate's GFLOP/s on one core; `opts`
 * are the device options (blocking).  Returns 0 or a negative tw_status. */
int tw_cpu_measure(tw_cpu_cand *cands, int n, const char *opts);

/* The calibrated choice: from the cache (cache_dir option, else
 * $XDG_CACHE_HOME/tilewhisper or ~/.cache/tilewhisper) unless calibrate=1
 * or TW_CPU_RECALIBRATE=1, else measured, chosen and stored.  A missing,
 * corrupt or stale cache file is measured again.  Returns 0 or a negative
 * tw_status. */
int tw_cpu_calibrate(const char *opts, tw_cpu_choice *out);

/* Testing hook: when set, tw_cpu_measure asks fn for each figure (GFLOP/s
 * of set `isa` in `mode` on class `cls`) instead of timing.  NULL restores
 * timing.  Not thread-safe: for tests only. */
typedef double (*tw_cpu_measure_hook)(const char *isa, int mode, int cls, void *user);
void tw_cpu_calib_set_hook(tw_cpu_measure_hook fn, void *user);

/* One line per class and the figures, for `tilewhisper devices`. */
void tw_cpu_choice_describe(const tw_cpu_choice *c, char *buf, size_t cap);

#endif

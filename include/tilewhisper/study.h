/* The invocation study: the seed's per-tile host loop, kept runnable so that
 * the engine's plans can be compared with it on the same device (see
 * docs/seed.md).  Not needed by applications.
 *
 * The loop runs C(m x n) = A(m x k) . B(k x n) (fp32, dense row-major) as
 * the seed did on a fixed-shape device: for every 64x64x64 tile, device
 * buffers are allocated, both operand tiles converted to bf16 on the host
 * and uploaded, one invocation run, the C tile read back and summed over K
 * on the host, and the buffers freed — one submission per invocation.
 * `batch_cols` > 1 groups column tiles per pass of the host loop (the
 * seed's attempted fix: same invocation count). */
#ifndef TILEWHISPER_STUDY_H
#define TILEWHISPER_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/export.h"
#include "tilewhisper/gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tile size of the seed's kernel. */
#define TW_STUDY_TILE 64

/* Runs the loop on the stream's device, which must be a queue device with a
 * 64x64x64 kernel (TW_EUNSUPPORTED otherwise).  *st covers everything: each
 * tile's conversion, allocation, upload, kernel and read-back. */
TW_API int tw_study_tile_gemm(tw_stream *s, size_t m, size_t k, size_t n, const float *a,
                              const float *b, float *c, int batch_cols, tw_gemm_stats *st);

/* What the loop would do, without running it (the tiling formula):
 * invocations, submissions, bytes each way and padded flops. */
TW_API int tw_study_tile_count(tw_stream *s, size_t m, size_t k, size_t n, tw_gemm_stats *out);

/* The emulated accelerator's cost profiles ("seed": the seed's measured
 * 54.4 ms per call; "xdna1": published XDNA figures), NULL-terminated. */
TW_API const char *const *tw_study_profiles(void);

/* *seconds = the MODELED device time of a run with these counts under a
 * profile (never a measurement): invocations x invoke + submissions x
 * submit + bytes / bandwidths + flops / throughput.  TW_ENOTFOUND for an
 * unknown profile. */
TW_API int tw_study_modeled_time(const char *profile, uint64_t invocations, uint64_t submissions,
                                 uint64_t bytes_to_device, uint64_t bytes_from_device,
                                 double flops, double *seconds);

#ifdef __cplusplus
}
#endif
#endif

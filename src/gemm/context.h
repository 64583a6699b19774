/* Internal view of a context for the layers above the engine (whisper). */
#ifndef TW_GEMM_CONTEXT_H
#define TW_GEMM_CONTEXT_H

#include "core/threadpool.h"
#include "gemm/plan.h"
#include "tilewhisper/gemm.h"

/* The context's worker pool (never NULL for a live context); callers may run
 * their own host-side work on it between GEMM calls. */
tw_threadpool *tw_context_pool(tw_context *ctx);

/* The plan the last successful tw_gemm call ran (for reports and tests). */
const tw_plan *tw_context_last_plan(const tw_context *ctx);

/* The context's device (for reports: kernel set, costs). */
const tw_device *tw_context_device(const tw_context *ctx);

#endif

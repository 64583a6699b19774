/* Internal view of a stream for the layers above the engine (whisper). */
#ifndef TW_GEMM_CONTEXT_H
#define TW_GEMM_CONTEXT_H

#include "core/threadpool.h"
#include "gemm/plan.h"
#include "tilewhisper/gemm.h"

/* The stream's worker pool (never NULL for a live stream); callers may run
 * their own host-side work on it between GEMM calls. */
tw_threadpool *tw_stream_pool(tw_stream *s);

/* The plan the last successful tw_gemm call ran (for reports and tests). */
const tw_plan *tw_stream_last_plan(const tw_stream *s);

#endif

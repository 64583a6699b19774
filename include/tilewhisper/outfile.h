/* Output files that appear whole or not at all: written under no name (or
 * a hidden temporary) in the target's directory and renamed over the target
 * only on commit, so a failed or killed run never leaves a partial or an
 * empty file and never truncates an existing one.  What the CLI writes goes
 * through this; applications may use it for their own outputs. */
#ifndef TILEWHISPER_OUTFILE_H
#define TILEWHISPER_OUTFILE_H

#include <stdio.h>

#include "tilewhisper/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_outfile tw_outfile;

/* Starts a new file for `path`; TW_EIO with the system's reason when the
 * directory does not allow it. */
TW_API int tw_outfile_open(const char *path, tw_outfile **out);
/* The stream to write to (valid until commit or abort). */
TW_API FILE *tw_outfile_stream(tw_outfile *f);
/* Flushes, syncs and publishes under the path; TW_EIO with the reason when
 * any write failed (nothing is published then).  Frees f either way. */
TW_API int tw_outfile_commit(tw_outfile *f);
/* Drops what was written and frees f; NULL is a no-op. */
TW_API void tw_outfile_abort(tw_outfile *f);

/* 1 when a and b name the same existing file (same device and inode). */
TW_API int tw_same_file(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif

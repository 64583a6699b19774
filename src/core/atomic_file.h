/* Output files that appear whole or not at all.
 *
 * tw_atomic_open() creates the data in the target's directory without a
 * name (O_TMPFILE), so a run killed at any point leaves nothing behind;
 * where the file system lacks O_TMPFILE it falls back to a hidden
 * "<path>.tmp.<pid>.<n>" removed on abort.  tw_atomic_commit() flushes,
 * fsyncs and renames over the target in one step; tw_atomic_abort() drops
 * everything.  A failed or aborted writer thus never leaves a partial or an
 * empty file, and never truncates an existing one.
 *
 * Two targets are not replaced but written through: an existing non-regular
 * file (/dev/null, a FIFO, a terminal: renaming over a device node would
 * destroy it), written directly, and a symbolic link, whose final target
 * is the file replaced. */
#ifndef TW_CORE_ATOMIC_FILE_H
#define TW_CORE_ATOMIC_FILE_H

#include <stdio.h>

#include "core/error.h"
#include "tilewhisper/outfile.h" /* tw_same_file */

typedef struct tw_atomic_file {
  FILE *f;        /* write through this; NULL when not open */
  char *path;     /* the target */
  char *tmp_path; /* the fallback's visible temporary name, or NULL (O_TMPFILE) */
  int direct;     /* writing straight into a non-regular file */
} tw_atomic_file;

/* Opens a new temporary for `path` ("wb").  TW_EIO with the system's reason
 * when the directory does not allow it. */
int tw_atomic_open(tw_atomic_file *af, const char *path, tw_errbuf *err);

/* Publishes the data under af->path and closes; on any failure (a write
 * error seen by fflush/fsync/close included) removes the temporary and
 * returns TW_EIO with the reason.  af is closed either way. */
int tw_atomic_commit(tw_atomic_file *af, tw_errbuf *err);

/* Discards an open temporary; no-op on a closed or zeroed af. */
void tw_atomic_abort(tw_atomic_file *af);

/* tw_same_file (public, outfile.h): 1 when `a` and `b` name the same
 * existing file (same device and inode), 0 otherwise (including when either
 * does not exist). */

#endif

/* include/tilewhisper/outfile.h over the core's atomic file. */
#include "tilewhisper/outfile.h"

#include "core/atomic_file.h"
#include "core/mem.h"

struct tw_outfile {
  tw_atomic_file af;
};

int tw_outfile_open(const char *path, tw_outfile **out) {
  if (!out) return tw_err(NULL, TW_EINVAL, "tw_outfile_open: out is NULL");
  *out = NULL;
  if (!path) return tw_err(NULL, TW_EINVAL, "tw_outfile_open: path is NULL");
  tw_outfile *f = tw_calloc_aligned(1, sizeof *f);
  if (!f) return tw_err(NULL, TW_ENOMEM, "%s: out of memory", path);
  int rc = tw_atomic_open(&f->af, path, NULL);
  if (rc) {
    tw_free(f);
    return rc;
  }
  *out = f;
  return TW_OK;
}

FILE *tw_outfile_stream(tw_outfile *f) { return f ? f->af.f : NULL; }

int tw_outfile_commit(tw_outfile *f) {
  if (!f) return tw_err(NULL, TW_EINVAL, "tw_outfile_commit: file is NULL");
  int rc = tw_atomic_commit(&f->af, NULL);
  tw_free(f);
  return rc;
}

void tw_outfile_abort(tw_outfile *f) {
  if (!f) return;
  tw_atomic_abort(&f->af);
  tw_free(f);
}

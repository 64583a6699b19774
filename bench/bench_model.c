/* The synthetic model the benchmarks run on: written once to a temporary
 * file (loaded per device: a model's weights live on its device) and
 * inspected for its hyper-parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

int tw_bench_synth_model(const char *who, const char *size, char *path, size_t cap,
                         tw_model_info *info) {
  snprintf(path, cap, "/tmp/tilewhisper-bench-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot create a temporary model file\n", who);
    path[0] = '\0';
    return TW_EIO;
  }
  close(fd);
  tw_synth_options so = {.size = size, .seed = 1};
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.inspect_only = 1;
  tw_model *m = NULL;
  int rc = tw_synth_model_write(&so, path);
  if (!rc) rc = tw_model_load_file(path, &mo, &m);
  if (!rc) rc = tw_model_get_info(m, info);
  tw_model_destroy(m);
  if (rc) fprintf(stderr, "%s: synthetic %s model: %s\n", who, size, tw_last_error());
  return rc;
}

/* libFuzzer target for the ggml model loader: each input is parsed in
 * place and, written to a memfd, loaded as a file, each in both load modes;
 * a loaded model's tensors, filters and tokens are read end to end so that
 * any pointer past the input shows up under ASan. */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "whisper/model.h"

static int fd = -1;
static char path[64];

static void touch(const tw_whisper_model *m) {
  float v[2];
  for (size_t i = 0; i < m->n_tensors; i++) {
    const tw_tensor *t = &m->tensors[i];
    /* first and last value: the first and last block of a quantized tensor,
     * whose scale may legitimately be refused (inf/NaN) but never misread */
    int rc = tw_tensor_read_f32(t, 0, 1, v);
    if (rc == 0 || (rc == TW_EFORMAT && tw_tensor_is_quantized(t)))
      rc = tw_tensor_read_f32(t, t->n_elements - 1, 1, v + 1);
    if (rc && !(rc == TW_EFORMAT && tw_tensor_is_quantized(t))) abort();
  }
  volatile float sink = 0;
  for (int i = 0; i < m->n_mel * m->n_fft_bins; i++) sink += m->mel_filters[i];
  for (int32_t i = 0; i < m->n_vocab_file; i++)
    if (m->token_lens[i]) sink += (float)m->token_bytes[i][m->token_lens[i] - 1];
  (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fd < 0) {
    fd = memfd_create("tw_fuzz_model", 0);
    if (fd < 0) abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
  /* libFuzzer's copy of the input is an exact-size heap block, so the
   * in-memory parse makes any read past the end an ASan report (a mapped
   * file would hide it inside its last page). */
  const unsigned modes[2] = {0, TW_LOAD_HEADER_ONLY};
  for (int k = 0; k < 4; k++) {
    tw_whisper_model *m = NULL;
    tw_errbuf err;
    int rc = k < 2 ? tw_whisper_model_load_memory(data, size, "fuzz", modes[k], &m, &err)
                   : tw_whisper_model_load_ex(path, modes[k - 2], &m, &err);
    if (rc == 0) touch(m);
    else if (m != NULL || err.msg[0] == '\0') abort(); /* failures leave nothing, say why */
    tw_whisper_model_free(m);
  }
  return 0;
}

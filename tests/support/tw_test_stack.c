#define _POSIX_C_SOURCE 200809L
#include "tw_test_stack.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_test.h"

tw_stream *tw_test_stream_on(tw_device *dev) {
  if (!dev) return NULL;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  tw_stream *s = NULL;
  if (tw_stream_create(dev, &so, &s)) {
    tw_device_destroy(dev);
    return NULL;
  }
  return s;
}

void tw_test_stream_drop(tw_stream *s) {
  if (!s) return;
  tw_device *dev = tw_stream_device(s);
  tw_stream_destroy(s);
  tw_device_destroy(dev);
}

int tw_test_stack_open(tw_test_stack *st, const char *device, int threads) {
  memset(st, 0, sizeof *st);
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = device;
  o.threads = threads;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  int rc = tw_device_create(&o, &st->dev);
  if (!rc) rc = tw_stream_create(st->dev, &so, &st->s);
  if (rc) tw_test_stack_close(st);
  return rc;
}

int tw_test_stack_encoder(tw_test_stack *st, const tw_whisper_model *m, int fp32,
                          const tw_encoder_options *eo, tw_errbuf *err) {
  int rc = tw_encoder_weights_create(m, st->dev, fp32, &st->w, err);
  if (!rc) rc = tw_encoder_create(st->w, st->s, eo, &st->enc, err);
  return rc;
}

void tw_test_stack_close(tw_test_stack *st) {
  tw_encoder_destroy(st->enc);
  tw_encoder_weights_destroy(st->w);
  tw_stream_destroy(st->s);
  tw_device_destroy(st->dev);
  memset(st, 0, sizeof *st);
}

int tw_test_synth_file(const tw_hparams *hp, uint64_t seed, char *path) {
  int fd = mkstemp(path);
  CHECK_MSG(fd >= 0, "mkstemp %s", path);
  if (fd < 0) return TW_EIO;
  close(fd);
  tw_synth_options so = {.custom = hp, .seed = seed,
                         .header_path = tw_test_data("for-tests-ggml-base.bin")};
  int rc = tw_synth_model_write(&so, path);
  CHECK_MSG(rc == TW_OK, "synth %s: %s", path, tw_last_error());
  return rc;
}

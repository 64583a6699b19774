/* A device, one stream on it and (optionally) an encoder: the set-up most
 * whisper-level tests need, with one teardown. */
#ifndef TW_TEST_STACK_H
#define TW_TEST_STACK_H

#include "core/error.h"
#include "tilewhisper/tilewhisper.h"
#include "whisper/encoder.h"

typedef struct tw_test_stack {
  tw_device *dev;
  tw_stream *s;
  tw_encoder_weights *w;
  tw_encoder *enc;
} tw_test_stack;

/* Opens `device` with `threads` workers and a stream on its pool. */
int tw_test_stack_open(tw_test_stack *st, const char *device, int threads);
/* Encoder weights (fp32 or bf16) and a state on the stack's stream. */
int tw_test_stack_encoder(tw_test_stack *st, const tw_whisper_model *m, int fp32,
                          const tw_encoder_options *eo, tw_errbuf *err);
/* One stream on dev's pool (the set-up of tests that run products); on
 * failure dev is destroyed and NULL returned.  tw_test_stream_drop destroys
 * the stream and its device. */
tw_stream *tw_test_stream_on(tw_device *dev);
void tw_test_stream_drop(tw_stream *s);

/* A synthetic model file of shape hp (weights from `seed`, the test
 * header's vocabulary) at a new temporary path: path is a mkstemp template
 * ("/tmp/...-XXXXXX"), filled in.  TW_OK, or the failure (CHECKed, with
 * its message); the caller unlinks the path either way. */
int tw_test_synth_file(const tw_hparams *hp, uint64_t seed, char *path);

/* Destroys what was made (any part may be missing) and zeroes *st. */
void tw_test_stack_close(tw_test_stack *st);

#endif

/* The objects behind include/tilewhisper/whisper.h. */
#ifndef TW_WHISPER_API_INTERNAL_H
#define TW_WHISPER_API_INTERNAL_H

#include "core/error.h"
#include "tilewhisper/whisper.h"
#include "whisper/encoder.h"
#include "whisper/mel.h"
#include "whisper/model.h"

struct tw_model {
  tw_whisper_model *file;        /* hparams, vocabulary, tensors (mapped) */
  tw_device *enc_dev, *dec_dev;  /* owned; dec_dev == enc_dev when one device runs both */
  tw_encoder_weights *enc;       /* NULL when inspect_only */
  int fp32, inspect_only;
  tw_errbuf err;
};

struct tw_state {
  tw_model *model;               /* borrowed */
  tw_stream *enc_stream;         /* on model->enc_dev */
  tw_encoder *enc;
  tw_mel *mel_ctx;
  float *mel;                    /* [n_mels][n_frames] of the last tw_state_set_pcm */
  size_t n_frames, content_frames;
  float *window;                 /* [n_mels][3000] scratch for tw_encode_window */
  tw_errbuf err;
};

/* Opens a device from a spec "NAME[:SELECTOR|KEY=VALUE,...]" ("emu:large=1",
 * "opencl:0.1"); the message goes to err too. */
int tw_device_open_spec(const char *spec, const char *kernels, int threads, tw_device **out,
                        tw_errbuf *err);

#endif

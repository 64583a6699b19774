/* Writes small synthetic models for the fuzz seed corpus (full files a few
 * tens of kB, instead of the 50 MB of a real-size tiny model): f16, f32,
 * and q5_1 (the quantized format with the most fields: scale, offset,
 * fifth bits, nibbles), whose rows need widths of whole 32-value blocks. */
#include <stdio.h>

#include "whisper/model.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: make_seed OUT_F16 OUT_F32 OUT_Q5_1\n");
    return 2;
  }
  tw_whisper_hparams hp = {.n_vocab = 16, .n_audio_ctx = 6, .n_audio_state = 8,
                           .n_audio_head = 2, .n_audio_layer = 1, .n_text_ctx = 4,
                           .n_text_state = 8, .n_text_head = 2, .n_text_layer = 1,
                           .n_mels = 80, .ftype = 1};
  tw_errbuf err;
  tw_synth_options o = {.size = "custom", .seed = 1, .custom = &hp};
  if (tw_whisper_synth_write(&o, argv[1], &err)) goto fail;
  o.all_f32 = 1;
  if (tw_whisper_synth_write(&o, argv[2], &err)) goto fail;
  hp.n_audio_state = hp.n_text_state = 32;
  o.all_f32 = 0;
  o.quant = TW_TENSOR_Q5_1;
  if (tw_whisper_synth_write(&o, argv[3], &err)) goto fail;
  return 0;
fail:
  fprintf(stderr, "make_seed: %s\n", err.msg);
  return 1;
}

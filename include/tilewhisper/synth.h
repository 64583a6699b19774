/* Synthetic Whisper models for tests and benchmarks: whisper.cpp's ggml
 * format with the real architecture and deterministic random weights (real
 * weights cannot be downloaded where this is built).  The text such a model
 * produces is meaningless; its shapes and costs are real. */
#ifndef TILEWHISPER_SYNTH_H
#define TILEWHISPER_SYNTH_H

#include <stdint.h>

#include "tilewhisper/export.h"
#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whisper's hyper-parameters in the order of the file header. */
typedef struct tw_hparams {
  int32_t n_vocab;
  int32_t n_audio_ctx;   /* 1500 */
  int32_t n_audio_state; /* 384 tiny, 512 base, 768 small, 1024 medium, 1280 large */
  int32_t n_audio_head;
  int32_t n_audio_layer;
  int32_t n_text_ctx;
  int32_t n_text_state;
  int32_t n_text_head;
  int32_t n_text_layer;
  int32_t n_mels; /* 80, or 128 for large-v3 */
  int32_t ftype;  /* 0 = all f32, 1 = f16 matrices, else ggml's quantized ftype (+ 1000 * version) */
} tw_hparams;

typedef struct tw_synth_options {
  const char *size;        /* a released size: "tiny", "base.en", ..., "large-v3-turbo" */
  int n_layers;            /* > 0: encoder and decoder layer count, else the size's */
  uint64_t seed;           /* the weights are a pure function of the seed */
  const char *header_path; /* take vocab + mel filters from this ggml file, or NULL */
  int all_f32;             /* 0: f16 matrices (whisper.cpp ftype 1); 1: all f32 */
  int32_t quant;           /* 0, or a ggml quantized type id (TW_QUANT_*): the 2-D weight
                              matrices in that format, as whisper.cpp's quantize tool
                              writes them (round to nearest); conv kernels, positional
                              embeddings and vectors keep their type */
  int zero_weights;        /* 1: matrices, biases and embeddings 0 instead of random (files
                              for shape and loader tests) */
  const tw_hparams *custom; /* non-NULL: these hparams instead of `size` (small models
                               for tests and fuzz seeds; ftype is ignored) */
} tw_synth_options;

/* ggml's ids of the quantized types whisper.cpp's files use. */
enum { TW_QUANT_Q4_0 = 2, TW_QUANT_Q4_1 = 3, TW_QUANT_Q5_0 = 6, TW_QUANT_Q5_1 = 7, TW_QUANT_Q8_0 = 8 };

/* Hyper-parameters of a released model size; TW_EINVAL for an unknown name. */
TW_API int tw_hparams_for_size(const char *size, tw_hparams *out);

/* Writes a complete model (encoder and decoder): matrices and biases
 * ~ N(0, 0.02), LayerNorm weight 1 and bias 0, sinusoidal encoder positions,
 * f16 matrices and f32 vectors as whisper.cpp's converter stores them. */
TW_API int tw_synth_model_write(const tw_synth_options *opts, const char *path);

#ifdef __cplusplus
}
#endif
#endif

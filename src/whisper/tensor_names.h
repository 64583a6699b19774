/* The one table of Whisper tensors: name, ggml shape, storage class and
 * initialisation, built from the hyper-parameters.  The loader checks files
 * against it, the synthetic writer writes it, the tests walk it. */
#ifndef TW_WHISPER_TENSOR_NAMES_H
#define TW_WHISPER_TENSOR_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "whisper/model.h"

#define TW_SPEC_NO_FIELD ((size_t)-1)

/* ggml type ids as stored in the file. */
enum { TW_GGML_F32 = 0, TW_GGML_F16 = 1 };

typedef enum tw_spec_init {
  TW_INIT_NORMAL,  /* N(0, 0.02): weights and biases */
  TW_INIT_ONE,     /* LayerNorm weight */
  TW_INIT_ZERO,    /* LayerNorm bias */
  TW_INIT_SINUSOID /* encoder positional embedding */
} tw_spec_init;

typedef struct tw_tensor_spec {
  char name[64];
  int n_dims;
  int64_t ne[4];     /* ggml order: ne[0] fastest */
  int is_matrix;     /* f16 in ftype-1 files (2-D weights, conv kernels); else f32.
                        The 2-D ones are what whisper.cpp's quantize tool quantizes */
  tw_spec_init init;
  int encoder;       /* 1 for encoder.* (required by a full load) */
  int layer;         /* block index, -1 for model-level tensors */
  size_t field;      /* offsetof in tw_whisper_model (layer < 0), else in
                        tw_encoder_layer (encoder) or tw_decoder_layer; or
                        TW_SPEC_NO_FIELD */
} tw_tensor_spec;

/* Every tensor of the model in the order PyTorch's state_dict (and so
 * whisper.cpp's converter) emits them: encoder first, then decoder.
 * *out is allocated with tw_calloc_aligned; release it with tw_free. */
int tw_whisper_tensor_specs(const tw_whisper_hparams *hp, tw_tensor_spec **out, size_t *n,
                            tw_errbuf *err);

/* "f32", "f16", "q4_0", ... for a ggml type id; "unknown" otherwise. */
const char *tw_ggml_type_name(int32_t ggml_type);

#endif

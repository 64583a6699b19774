/* A Whisper model built in memory for tests (no file, no loader): encoder
 * and (optionally) decoder tensors with deterministic random values, shaped
 * as in a ggml model file.
 *
 *   matrices and conv weights: f16 (or f32), normal(0, std) (std = 0.02, except the
 *     query and key weights, std = qk_std, so that attention is not uniform)
 *   biases: f32 (or f16), normal(0, 0.02) (never all zero; conv biases [n, 1])
 *   LayerNorm: weight 1 + normal(0, 0.05), bias normal(0, 0.05)
 *   positional embedding: f32 sinusoids [n_audio_ctx, n_state], as Whisper's
 *   decoder (n_text_layer > 0; n_text_state = n_state, n_text_head = n_head):
 *     token embedding normal(0, 0.1) [n_vocab, n_state] (matrix type),
 *     learned positions normal(0, 0.1) [n_text_ctx, n_state] (vector type),
 *     self and cross query/key weights std qk_std, the rest as the encoder's
 *
 * The f16 conversions are the test's own, independent of src/core. */
#ifndef TW_TEST_MEMMODEL_H
#define TW_TEST_MEMMODEL_H

#include <stdint.h>

#include "whisper/model.h"

typedef struct tw_test_model_spec {
  int n_state, n_head, n_layer, n_mels, n_audio_ctx;
  double qk_std;     /* 0 = 0.02 */
  int matrices_f32; /* matrices and conv weights as f32 (ftype 0) instead of f16 */
  int vectors_f16;  /* vectors and the positional embedding as f16 instead of f32 */
  uint64_t seed;
  int n_text_layer, n_text_ctx, n_vocab; /* decoder; n_text_layer 0 = none */
} tw_test_model_spec;

/* model->hp filled from spec; tensors owned by the model.  NULL on OOM. */
tw_whisper_model *tw_test_model_create(const tw_test_model_spec *spec);
void tw_test_model_destroy(tw_whisper_model *model);

/* fp32 -> IEEE half, round to nearest even; half -> double, exact. */
uint16_t tw_test_f32_to_f16(float f);
double tw_test_f16_to_f64(uint16_t h);

/* Element i of a tensor (f16, f32 or quantized: tw_test_dequant.h) as a double. */
double tw_test_tensor_at(const tw_tensor *t, size_t i);

#endif

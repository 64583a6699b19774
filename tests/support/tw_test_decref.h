/* The Whisper text decoder in fp64, written straight from OpenAI's model.py
 * (TextDecoder, ResidualAttentionBlock with cross-attention), sharing no
 * code with src/whisper: one position at a time, every product a plain
 * dot product over the tensor's elements, the whole prefix recomputed (no
 * cache), the causal mask as the loop bound j <= t, q and k each scaled by
 * head_dim^-1/4, LayerNorm eps 1e-5, GELU with erf, logits against the
 * token embedding.  The oracle for the decoder tests. */
#ifndef TW_TEST_DECREF_H
#define TW_TEST_DECREF_H

#include <stdint.h>

#include "whisper/model.h"

/* enc_out: [n_audio][n_text_state] (the encoder's output); tokens: n_tok ids
 * at positions 0 .. n_tok - 1; logits: [n_tok][n_vocab], every position.
 * 0 or -1 (out of memory). */
int tw_test_decoder_ref(const tw_whisper_model *m, const float *enc_out, int n_audio,
                        const int32_t *tokens, int n_tok, double *logits);

#endif

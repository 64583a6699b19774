/* The Whisper encoder in fp64, written straight from the paper and OpenAI's
 * model.py, sharing no code with src/whisper: direct convolutions (no
 * im2col), plain loops for every product, attention per head with q and k
 * each scaled by head_dim^-1/4 as Whisper does, LayerNorm eps 1e-5, GELU
 * with erf.  The oracle for the encoder tests. */
#ifndef TW_TEST_ENCREF_H
#define TW_TEST_ENCREF_H

#include "whisper/model.h"

/* mel: [n_mels][2 n_ctx]; out: [n_ctx][n_state].  0 or -1 (out of memory). */
int tw_test_encoder_ref(const tw_whisper_model *m, int n_ctx, const float *mel, double *out);

#endif

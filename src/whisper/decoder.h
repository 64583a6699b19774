/* The Whisper text decoder with every matrix product on the GEMM engine.
 *
 *     tokens -> token_embedding + positional_embedding
 *       -> n_text_layer x { x += self_attn(LN(x)) over the KV cache (causal);
 *                           x += cross_attn(LN(x)) over the window's audio;
 *                           x += mlp(LN(x)) }
 *       -> ln -> logits = x . token_embedding^T (tied)
 *
 * Split as whisper.cpp splits model and state:
 *
 *   tw_decoder        prepared weights, created once from the model on a
 *                     device; read-only afterwards, shared by every state.
 *   tw_decoder_state  one stream: the engine stream its products go to, the
 *                     self-attention KV cache (n_text_ctx positions x
 *                     n_text_layer x max_seq sequences), every layer's
 *                     cross-attention K/V for the current window and every
 *                     activation buffer, all allocated at creation, so that
 *                     set_audio, decode and reorder allocate nothing (the
 *                     engine may, inside tw_gemm, on first use of a shape).
 *
 * tw_decoder_decode and tw_decoder_reorder have exactly the semantics of
 * tw_logits_source.decode and .reorder (whisper/logits_source.h).
 *
 * Ownership: the decoder borrows the model and the device, the state borrows
 * the decoder and its stream (on the decoder's device); each borrowed object
 * must outlive its borrower. */
#ifndef TW_WHISPER_DECODER_H
#define TW_WHISPER_DECODER_H

#include <stdint.h>

#include "core/error.h"
#include "tilewhisper/gemm.h"
#include "whisper/model.h"

typedef struct tw_decoder tw_decoder;
typedef struct tw_decoder_state tw_decoder_state;

typedef struct tw_decoder_options {
  /* 0: weights stored as bf16 and activations entering the GEMMs as bf16;
   * 1: fp32 both (TW_EUNSUPPORTED on devices that compute only in bf16). */
  int fp32;
} tw_decoder_options;

void tw_decoder_options_init(tw_decoder_options *opts);

/* Checks every decoder tensor (a missing one is TW_EINVAL naming it, a wrong
 * shape TW_ESHAPE naming it) and prepares every weight on dev.  `opts`
 * may be NULL.  On failure *out is NULL and err (may be NULL) holds the
 * message. */
int tw_decoder_create(const tw_whisper_model *model, tw_device *dev,
                      const tw_decoder_options *opts, tw_decoder **out, tw_errbuf *err);
void tw_decoder_destroy(tw_decoder *dec); /* NULL-safe, also half-built */

int tw_decoder_n_vocab(const tw_decoder *dec);
int tw_decoder_n_text_ctx(const tw_decoder *dec);
/* Bytes of prepared weights one decoding step reads: every per-token
 * projection (self q/k/v/out, cross q/out, MLP) of every layer and the
 * logits matrix; the cross K/V projections run once per window instead. */
double tw_decoder_step_weight_bytes(const tw_decoder *dec);

/* A stream's state for up to max_seq sequences (beams) and windows of
 * n_audio_ctx encoder positions (0 = hparams n_audio_ctx). */
int tw_decoder_state_create(const tw_decoder *dec, tw_stream *stream, int max_seq,
                            int n_audio_ctx, tw_decoder_state **out, tw_errbuf *err);
void tw_decoder_state_destroy(tw_decoder_state *st); /* NULL-safe, also half-built */

/* One window: enc_out [n_audio_ctx][n_state] row-major (the encoder's
 * output; n_audio_ctx must be the state's).  Computes every layer's
 * cross-attention K and V once (M = n_audio_ctx products). */
int tw_decoder_set_audio(tw_decoder_state *st, const float *enc_out, int n_audio_ctx);

/* Advances n_seq sequences by n_tok tokens each; tokens [n_seq][n_tok].
 * Every sequence has n_past positions cached; the new tokens take positions
 * n_past .. n_past + n_tok - 1 and are cached too.  Writes the logits of
 * positions n_past + out_from .. n_past + n_tok - 1 of every sequence into
 * logits [n_seq][n_tok - out_from][n_vocab].  Every product has
 * M = n_seq * n_tok rows (the logits M = n_seq * (n_tok - out_from)).
 * TW_EINVAL for a token outside [0, n_vocab) (named), n_seq outside
 * [1, max_seq], n_past + n_tok > n_text_ctx, or no audio set. */
int tw_decoder_decode(tw_decoder_state *st, int n_seq, int n_tok, const int32_t *tokens,
                      int n_past, int out_from, float *logits);

/* Afterwards sequence i holds what sequence src[i] held (its first n_past
 * cached positions), for i < n_seq.  Copies cache rows within the state's
 * buffers; allocates nothing. */
int tw_decoder_reorder(tw_decoder_state *st, int n_seq, const int *src, int n_past);

int tw_decoder_state_max_seq(const tw_decoder_state *st);
/* Message of the state's last failure ("" if none). */
const char *tw_decoder_last_error(const tw_decoder_state *st);

#endif

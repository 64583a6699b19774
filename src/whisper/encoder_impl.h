/* Private layout of the encoder, shared by encoder_create.c (validation,
 * weight preparation, buffers) and encoder.c (the forward pass): the
 * prepared weights (shared by every stream) and the per-stream state. */
#ifndef TW_WHISPER_ENCODER_IMPL_H
#define TW_WHISPER_ENCODER_IMPL_H

#include "core/threadpool.h"
#include "whisper/encoder.h"

/* One block's prepared weights; vectors point into tw_encoder.vecs. */
typedef struct tw_enc_block {
  tw_weight *q, *k, *v, *o;   /* attn.{query,key,value,out}: K = N = n_state */
  tw_weight *fc1, *fc2;       /* mlp.0: K n_state, N 4 n_state; mlp.2: K 4 n_state, N n_state */
  const float *attn_ln_w, *attn_ln_b; /* [n_state] */
  const float *mlp_ln_w, *mlp_ln_b;   /* [n_state] */
} tw_enc_block;

/* Read-only after creation; any number of tw_encoder states use it. */
struct tw_encoder_weights {
  const tw_whisper_model *model; /* borrowed */
  tw_device *dev;                /* borrowed */
  int n_state, n_head, head_dim, n_layer, n_mels, n_audio_ctx;
  tw_dtype act;                  /* type of GEMM A operands and storage: F32 or BF16 */
  tw_weight *conv1; /* K = 3 n_mels, N = n_state; K index = channel * 3 + tap */
  tw_weight *conv2; /* K = 3 n_state, N = n_state */
  tw_enc_block *blocks;
  /* fp32 copies of every vector parameter (owned, one block) */
  float *vecs;
  const float *pos;                   /* [n_audio_ctx][n_state] positional embedding */
  const float *ln_post_w, *ln_post_b; /* [n_state] */
  size_t device_bytes;                /* what the weights hold on the device */
};

/* One stream's encoder: activations and the per-head operands. */
struct tw_encoder {
  const tw_encoder_weights *w;   /* borrowed */
  tw_stream *stream;             /* borrowed */
  tw_threadpool *pool;           /* the stream's */
  int n_state, n_head, head_dim, n_layer, n_mels, n_ctx, n_frames;
  tw_dtype act;                  /* = w->act */
  tw_gemm_options gemm_opts;
  tw_errbuf err;

  /* per-head attention operands, refilled by tw_weight_update each head */
  tw_weight *k_t;   /* K_h^T: K = head_dim, N = n_ctx */
  tw_weight *v_h;   /* V_h:   K = n_ctx, N = head_dim, or */
  tw_weight *p_t;   /* P^T:   K = N = n_ctx (P read transposed), when pv_transposed */
  int pv_option;     /* tw_encoder_options.pv */
  int pv_transposed; /* P V_h computed as (V_h^T P^T)^T */

  /* activations, allocated once; "act" buffers hold enc->act elements */
  void *col;      /* act, im2col rows: max(n_frames x 3 n_mels, n_ctx x 3 n_state) */
  float *h1;      /* [n_frames][n_state] conv1 output */
  float *x;       /* [n_ctx][n_state] residual stream */
  void *xn;       /* act [n_ctx][n_state] LayerNorm output */
  float *q, *k, *v; /* [n_ctx][n_state] projections, heads side by side */
  float *scores;  /* [n_ctx][n_ctx] one head's Q_h K_h^T */
  void *probs;    /* act [n_ctx][n_ctx] one head's softmax */
  float *rows;    /* [pool threads][n_ctx] softmax scratch rows */
  void *v_t;      /* act [head_dim][n_ctx] one head's V_h^T (pv_transposed) */
  float *o_t;     /* [head_dim][n_ctx] one head's output, transposed (pv_transposed) */
  float *attn;    /* [n_ctx][n_state] concatenated head outputs */
  float *proj;    /* [n_ctx][n_state] block output before the residual add */
  float *mlp_h;   /* [n_ctx][4 n_state] GELU(fc1) (the product's epilogue) */
  float *out;     /* [n_ctx][n_state] ln_post output, handed to the caller */
};

#endif

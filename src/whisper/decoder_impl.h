/* Private layout of the decoder (shared weights) and its state (one stream),
 * used by decoder_create.c (weights), decoder_state.c (state, audio,
 * reorder) and decoder.c (the forward pass). */
#ifndef TW_WHISPER_DECODER_IMPL_H
#define TW_WHISPER_DECODER_IMPL_H

#include "core/threadpool.h"
#include "whisper/decoder.h"

/* One block's prepared weights; vectors point into tw_decoder.vecs.
 * Projections of the same input are one weight (one product, one pass over
 * A): self q|k|v side by side, and the cross key|value. */
typedef struct tw_dec_block {
  tw_weight *qkv, *o;               /* attn.{query,key,value}: N = 3 n_state; attn.out */
  tw_weight *cq, *ckv, *co;         /* cross_attn.query; .key|.value (N 2 n_state); .out */
  tw_weight *fc1, *fc2;             /* mlp.0 (N 4 n_state), mlp.2 (K 4 n_state) */
  const float *attn_ln_w, *attn_ln_b, *cross_ln_w, *cross_ln_b, *mlp_ln_w, *mlp_ln_b;
} tw_dec_block;

struct tw_decoder {
  const tw_whisper_model *model; /* borrowed: the token embedding is read from it */
  tw_device *dev;                /* borrowed; the weights are resident on it */
  int n_state, n_head, head_dim, n_layer, n_vocab, n_text_ctx;
  tw_dtype act;                  /* GEMM A operands and weight storage: F32 or BF16 */
  tw_errbuf err;
  tw_dec_block *blocks;
  tw_weight *logits;             /* token_embedding read as N x K: K n_state, N n_vocab */
  float *vecs;                   /* fp32 copies of every vector parameter (owned) */
  const float *pos;              /* [n_text_ctx][n_state] learned positions */
  const float *ln_w, *ln_b;      /* decoder.ln */
};

/* Self-attention operands refilled per sequence, for up to n_keys keys:
 * products run over the smallest bucket of keys >= the keys in use (a
 * weight keeps its shape, so one set per bucket), the probabilities of the
 * keys past them being 0.
 *   k_t, v: several new tokens (prefill), per head: Q_h K_h^T and P V_h,
 *           the cache as the weight (packed once per head for all rows);
 *   p:      one new token (a step), all heads in one product each way: the
 *           cache is the A operand (the engine converts A rows as it
 *           streams them, nothing is packed), the scores K q_blk are taken
 *           against a block-diagonal weight of the heads' queries, and the
 *           outputs V^T P^T against every head's probabilities (column h;
 *           row i of head h keeps column h only). */
typedef struct tw_dec_bucket {
  int n_keys;
  tw_weight *k_t; /* K_h^T: K = head_dim, N = n_keys (K cache rows read transposed) */
  tw_weight *v;   /* V_h:   K = n_keys,  N = head_dim (V^T cache rows read transposed) */
  tw_weight *p;   /* P^T:   K = n_keys,  N = n_head (probability rows read transposed) */
} tw_dec_bucket;

#define TW_DEC_MAX_BUCKETS 16

struct tw_decoder_state {
  const tw_decoder *dec;   /* borrowed */
  tw_stream *ctx;          /* the stream its products run on, borrowed */
  tw_threadpool *pool;     /* the stream's */
  tw_gemm_options gemm_opts;
  tw_errbuf err;
  int max_seq, max_rows, n_audio_ctx, has_audio;

  /* self-attention KV cache: physical slot p, layer l: K [ctx][n_state]
   * at kv + ((p n_layer + l) 2) ctx n_state, then V transposed,
   * [n_state][ctx] (a head's V_h^T is a block of rows: the A operand of a
   * step); sequence i lives in slot[i] (reorder permutes slots and copies
   * only duplicated ones) */
  void *kv; /* elements of the activations' type (tw_dec_kv_elem) */
  int *slot;          /* [max_seq] */
  int *reorder_tmp;   /* [3 max_seq] scratch for reorder */
  tw_dec_bucket buckets[TW_DEC_MAX_BUCKETS];
  int n_buckets;
  tw_weight *q_blk; /* a step's queries, block-diagonal: K = n_state, N = n_head */
  float *q_blk_data; /* [n_state][n_head]: column h holds q_h in rows h head_dim.., else 0 */
  float *heads;      /* [max(n_text_ctx, n_state)][n_head] a step's scores, then outputs */

  /* cross-attention K_h^T and V_h of every layer and head for the window
   * (index l n_head + h), refilled by set_audio from cross_kv */
  tw_weight **cross_k_t, **cross_v;
  float *cross_kv; /* [n_audio_ctx][2 n_state] one layer's K | V */

  /* activations for max_rows rows */
  float *x;        /* [rows][n_state] residual stream */
  void *xn;        /* act [rows][n_state] LayerNorm output */
  float *qkv;      /* [rows][3 n_state]: q | k | v (the cross q goes to q) */
  float *scores;   /* [rows][max(n_text_ctx, n_audio_ctx)] one head's scores */
  void *probs;     /* act, same shape */
  float *rows;     /* [pool threads][max(n_text_ctx, n_audio_ctx)] softmax scratch */
  float *attn;     /* [rows][n_state] concatenated head outputs */
  float *proj;     /* [rows][n_state] */
  float *mlp_h;    /* [rows][4 n_state] */
  void *mlp_a;     /* act [rows][4 n_state] */
};

/* The cache holds the activations' type: bf16 in the default mode (what
 * the products would round it to anyway, and half the bytes a step reads),
 * fp32 in fp32 mode. */
static inline tw_dtype tw_dec_kv_type(const tw_decoder_state *st) { return st->dec->act; }
static inline size_t tw_dec_kv_elem(const tw_decoder_state *st) {
  return st->dec->act == TW_DTYPE_BF16 ? 2 : 4;
}

/* K (which = 0, [ctx][n_state]) or V^T (1, [n_state][ctx]) of layer l in
 * physical slot p. */
static inline void *tw_dec_cache(const tw_decoder_state *st, int p, int l, int which) {
  const tw_decoder *d = st->dec;
  return (char *)st->kv + (((size_t)p * d->n_layer + l) * 2 + (size_t)which) * d->n_text_ctx *
                              d->n_state * tw_dec_kv_elem(st);
}

/* Element i of a cache region of type tw_dec_kv_type. */
static inline void *tw_dec_at(const tw_decoder_state *st, void *base, size_t i) {
  return (char *)base + i * tw_dec_kv_elem(st);
}

#endif

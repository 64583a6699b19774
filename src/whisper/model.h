/* The Whisper model: immutable once loaded (hparams, mel filters, vocab,
 * weights), shareable across threads; mutable per-run buffers live in the
 * encoder state, not here (whisper.cpp's model/state split).
 *
 * Tensor shapes are given as PyTorch shapes, row-major; ne[] holds them in
 * ggml's order (fastest-varying first), as the file does.  Weight data points
 * into the memory-mapped file (or, for models built in memory by tests, into
 * caller-owned arrays). */
#ifndef TW_WHISPER_MODEL_H
#define TW_WHISPER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tilewhisper/synth.h"

/* The file's hyper-parameters (public as tw_hparams, synth.h). */
typedef tw_hparams tw_whisper_hparams;

/* Storage types, numbered as ggml's type ids in the file.  The quantized
 * ones hold blocks of 32 values (src/whisper/quant.h); whisper.cpp's
 * quantize tool uses them for 2-D weight matrices only. */
typedef enum tw_tensor_type {
  TW_TENSOR_F32 = 0,
  TW_TENSOR_F16 = 1,
  TW_TENSOR_Q4_0 = 2,
  TW_TENSOR_Q4_1 = 3,
  TW_TENSOR_Q5_0 = 6,
  TW_TENSOR_Q5_1 = 7,
  TW_TENSOR_Q8_0 = 8,
  TW_TENSOR_Q8_1 = 9
} tw_tensor_type;

/* Tensor data pointers come from the file and may be unaligned and
 * quantized: read them with tw_tensor_read_f32() or tw_tensor_matrix_f32()
 * (which widen f16 and dequantize), never through float *. */
typedef struct tw_tensor {
  char name[64];
  tw_tensor_type type;
  int n_dims;
  int64_t ne[4];      /* ggml order: ne[0] is the fastest-varying dimension */
  const void *data;   /* n_elements values of `type` */
  size_t n_elements;
  size_t file_offset; /* byte offset of the data in the file (0 if in memory) */
} tw_tensor;

/* One encoder block.  PyTorch names: encoder.blocks.N.<field>. */
typedef struct tw_encoder_layer {
  const tw_tensor *attn_ln_w, *attn_ln_b; /* attn_ln.{weight,bias}        [n_state] */
  const tw_tensor *attn_q_w, *attn_q_b;   /* attn.query.{weight,bias}     [n_state, n_state], [n_state] */
  const tw_tensor *attn_k_w;              /* attn.key.weight (no bias)    [n_state, n_state] */
  const tw_tensor *attn_v_w, *attn_v_b;   /* attn.value.{weight,bias}     [n_state, n_state], [n_state] */
  const tw_tensor *attn_out_w, *attn_out_b; /* attn.out.{weight,bias}     [n_state, n_state], [n_state] */
  const tw_tensor *mlp_ln_w, *mlp_ln_b;   /* mlp_ln.{weight,bias}         [n_state] */
  const tw_tensor *mlp_0_w, *mlp_0_b;     /* mlp.0.{weight,bias}          [4 n_state, n_state], [4 n_state] */
  const tw_tensor *mlp_2_w, *mlp_2_b;     /* mlp.2.{weight,bias}          [n_state, 4 n_state], [n_state] */
} tw_encoder_layer;

/* One decoder block.  PyTorch names: decoder.blocks.N.<field>; every matrix
 * [n_state, n_state] except mlp.0 [4 n_state, n_state] and mlp.2
 * [n_state, 4 n_state]; keys have no bias. */
typedef struct tw_decoder_layer {
  const tw_tensor *attn_ln_w, *attn_ln_b;       /* attn_ln: before causal self-attention */
  const tw_tensor *attn_q_w, *attn_q_b, *attn_k_w, *attn_v_w, *attn_v_b, *attn_out_w, *attn_out_b;
  const tw_tensor *cross_ln_w, *cross_ln_b;     /* cross_attn_ln */
  const tw_tensor *cross_q_w, *cross_q_b, *cross_k_w, *cross_v_w, *cross_v_b, *cross_out_w,
      *cross_out_b;                             /* cross_attn.{query,key,value,out} */
  const tw_tensor *mlp_ln_w, *mlp_ln_b;
  const tw_tensor *mlp_0_w, *mlp_0_b, *mlp_2_w, *mlp_2_b;
} tw_decoder_layer;

typedef struct tw_whisper_model {
  tw_whisper_hparams hp;
  char path[1024];

  /* mel filter bank [n_mel, n_fft/2+1 = 201], row-major */
  int32_t n_mel, n_fft_bins;
  const float *mel_filters;

  /* vocabulary: n_vocab tokens, token i is bytes[i] of length lens[i] */
  int32_t n_vocab_file;
  const char **token_bytes;
  uint32_t *token_lens;

  /* encoder */
  const tw_tensor *enc_pos_emb;            /* encoder.positional_embedding [n_audio_ctx, n_state] f32 */
  const tw_tensor *conv1_w, *conv1_b;      /* encoder.conv1.{weight,bias} [n_state, n_mels, 3], [n_state] */
  const tw_tensor *conv2_w, *conv2_b;      /* encoder.conv2.{weight,bias} [n_state, n_state, 3], [n_state] */
  tw_encoder_layer *enc_layers;            /* n_audio_layer blocks */
  const tw_tensor *enc_ln_post_w, *enc_ln_post_b; /* encoder.ln_post.{weight,bias} [n_state] */

  /* decoder (all NULL in a file without decoder tensors, TW_LOAD_HEADER_ONLY) */
  const tw_tensor *dec_tok_emb;            /* decoder.token_embedding.weight [n_vocab, n_text_state] */
  const tw_tensor *dec_pos_emb;            /* decoder.positional_embedding [n_text_ctx, n_text_state] f32 */
  tw_decoder_layer *dec_layers;            /* n_text_layer blocks */
  const tw_tensor *dec_ln_w, *dec_ln_b;    /* decoder.ln.{weight,bias} [n_text_state] */

  /* every tensor of the file, in file order (decoder tensors included) */
  tw_tensor *tensors;
  size_t n_tensors;

  /* owned resources */
  void *map;
  size_t map_bytes;
  void *owned; /* loader-private allocations */
} tw_whisper_model;

/* ---- loading (model_load.c) ---------------------------------------------- */

/* Load flags. */
enum {
  /* Accept a file without (some) weight tensors, such as whisper.cpp's
   * for-tests-ggml-base.bin: hparams, mel filters and vocab are required;
   * tensors that are present are still checked. */
  TW_LOAD_HEADER_ONLY = 1u << 0
};

/* Memory-maps a whisper.cpp ggml file (f32, f16 or quantized), checks every section
 * and tensor against the architecture and fills *out.  The model owns the
 * mapping; free it with tw_whisper_model_free().  Returns 0 or a negative
 * tw_status with a message in err and tw_last_error() naming the file, the
 * byte offset and the tensor. */
int tw_whisper_model_load_ex(const char *path, unsigned flags, tw_whisper_model **out,
                             tw_errbuf *err);
/* = tw_whisper_model_load_ex(path, 0, out, err): all encoder tensors required. */
int tw_whisper_model_load(const char *path, tw_whisper_model **out, tw_errbuf *err);
/* The same checks on a file image in memory (4-byte aligned; `name` is used
 * in messages).  The model points into data, which must outlive it. */
int tw_whisper_model_load_memory(const void *data, size_t size, const char *name, unsigned flags,
                                 tw_whisper_model **out, tw_errbuf *err);
/* NULL-safe; works on a half-built model. */
void tw_whisper_model_free(tw_whisper_model *m);

/* The tensor of that name, or NULL. */
const tw_tensor *tw_whisper_model_find(const tw_whisper_model *m, const char *name);

/* ---- reading tensor values (tensor_read.c) -------------------------------- */

/* Copies n values starting at element `first` of t into dst as f32: f16 is
 * widened, quantized blocks are decoded (any element range, partial blocks
 * included).  Returns 0; TW_ERANGE when first + n exceeds the tensor;
 * TW_EFORMAT when a block in the range has an inf or NaN scale (a corrupt
 * file: the message names the tensor, the block and its file offset). */
int tw_tensor_read_f32(const tw_tensor *t, size_t first, size_t n, float *dst);

/* The first `count` values of t as fp32 at *cursor, which then advances past
 * them; returns where they start.  For parameters the caller has checked
 * (they fit and decode): a failure leaves zeros. */
const float *tw_tensor_take_f32(float **cursor, const tw_tensor *t, size_t count);

/* Rows [row0, row0 + n_rows) of t seen as PyTorch's [rows][cols] matrix
 * (rows = the outermost dimension ne[n_dims - 1], cols = n_elements / rows:
 * a Linear weight [n_out][n_in], a conv kernel [n_out][n_in * 3]) as f32
 * into dst, n_rows * cols values row-major, whatever t's type.  This is how
 * weight preparation turns quantized matrices into a source the engine
 * takes.  Errors as tw_tensor_read_f32(), also stored in err. */
int tw_tensor_matrix_f32(const tw_tensor *t, size_t row0, size_t n_rows, float *dst,
                         tw_errbuf *err);

/* 1 when t's type is block-quantized (read it only through the functions
 * above), 0 for f32 and f16. */
int tw_tensor_is_quantized(const tw_tensor *t);

/* ---- synthetic models (model_synth.c) ------------------------------------ */

/* tw_synth_options: include/tilewhisper/synth.h. */

/* Hyper-parameters of a released model size, named as whisper.cpp's files
 * (tiny, tiny.en, base, base.en, small, small.en, medium, medium.en,
 * large-v1, large-v2, large-v3, large-v3-turbo); TW_EINVAL for another. */
int tw_whisper_hparams_for_size(const char *size, tw_whisper_hparams *hp, tw_errbuf *err);

/* Name of released size i (0, 1, ... in the order above), NULL past the end. */
const char *tw_whisper_size_name(int i);

/* Writes a complete ggml model (encoder and decoder) with deterministic
 * random weights: matrices and biases ~ N(0, 0.02), LayerNorm weight 1 and
 * bias 0, sinusoidal encoder positional embedding, f16 matrices and f32
 * vectors as whisper.cpp's converter stores them. */
int tw_whisper_synth_write(const tw_synth_options *o, const char *path, tw_errbuf *err);

/* Whisper's sinusoids(length, channels) for the encoder positional
 * embedding: row t is [sin(t g_i) for i < channels/2, cos(t g_i) ...] with
 * g_i = exp(-i log(10000) / (channels/2 - 1)).  dst is [length, channels]. */
void tw_whisper_sinusoids(int length, int channels, float *dst);

/* Mel filter bank as librosa.filters.mel(sr=16000, n_fft=400, n_mels,
 * htk=False, norm="slaney"), which Whisper ships: dst is [n_mels, 201]. */
void tw_mel_filters_slaney(int n_mels, float *dst);

#endif

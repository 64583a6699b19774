/* The Whisper audio encoder with every matrix product on the GEMM engine.
 *
 *     mel [n_mels][2 n_ctx] -> conv1+GELU -> conv2(stride 2)+GELU -> +pos
 *       -> n_layer x { x += attn(LN(x)); x += mlp(LN(x)) } -> ln_post
 *       -> out [n_ctx][n_state]
 *
 * tw_encoder_weights_create prepares every weight once on a device (shared
 * and read-only afterwards); tw_encoder_create makes one stream's state:
 * every activation buffer for the run's shape, allocated up front, so
 * tw_encoder_run allocates nothing (the engine may, on first use).
 *
 * Ownership: the weights borrow the model and the device; a state borrows
 * the weights and its stream (all must outlive it) and owns its buffers,
 * including the output.  Any number of states may run at once on one
 * weights object, each on its own stream; one state must not run from two
 * threads at once. */
#ifndef TW_WHISPER_ENCODER_H
#define TW_WHISPER_ENCODER_H

#include <stdint.h>

#include "core/error.h"
#include "tilewhisper/gemm.h"
#include "whisper/model.h"

#define TW_ENCODER_MAX_LAYERS 64

typedef struct tw_encoder_weights tw_encoder_weights;
typedef struct tw_encoder tw_encoder;

typedef struct tw_encoder_options {
  /* Positions computed per run; 0 = hparams n_audio_ctx (1500).  Input
   * frames are 2 * n_ctx.  Smaller values are for tests. */
  int n_ctx;
  /* How each head's P V_h is computed: TW_PV_AUTO (from the device's kernel
   * shapes and costs), TW_PV_DIRECT (M = n_ctx, N = head_dim) or
   * TW_PV_TRANSPOSED ((V_h^T P^T)^T: M = head_dim, N = n_ctx). */
  int pv;
} tw_encoder_options;

enum { TW_PV_AUTO = 0, TW_PV_DIRECT = 1, TW_PV_TRANSPOSED = 2 };

void tw_encoder_options_init(tw_encoder_options *opts);

/* Seconds per stage of one run, and the engine's work during it. */
typedef struct tw_encoder_timings {
  double conv_s;                          /* conv1, conv2, GELUs, + positions */
  double layer_s[TW_ENCODER_MAX_LAYERS];  /* one entry per block */
  int n_layers;
  double ln_post_s;
  double total_s;
  double gemm_s;             /* wall time inside tw_gemm calls */
  uint64_t gemm_calls;
  uint64_t invocations;      /* device kernel invocations */
  double flops;              /* useful flops of all products (2 M N K) */
  double modeled_device_s;   /* the device's modeled time (emulated devices), else 0 */
} tw_encoder_timings;

/* Validates the model's encoder tensors (types and shapes; a mismatch is
 * TW_ESHAPE naming the tensor) and prepares the weights on dev.  fp32 = 0:
 * activations enter the GEMMs as bf16 and weights are stored as bf16 (as an
 * NPU takes them); 1: fp32 activations and fp32 weight storage
 * (TW_EUNSUPPORTED on devices that compute only in bf16).  On failure *out
 * is NULL and err (may be NULL) holds the message. */
int tw_encoder_weights_create(const tw_whisper_model *model, tw_device *dev, int fp32,
                              tw_encoder_weights **out, tw_errbuf *err);
/* NULL is a no-op; also frees a half-built object. */
void tw_encoder_weights_destroy(tw_encoder_weights *w);
/* Bytes of weight matrices the device holds for the encoder. */
size_t tw_encoder_weights_device_bytes(const tw_encoder_weights *w);

/* One stream's encoder state over shared weights; the stream must run on
 * the weights' device.  `opts` may be NULL for defaults. */
int tw_encoder_create(const tw_encoder_weights *w, tw_stream *stream,
                      const tw_encoder_options *opts, tw_encoder **out, tw_errbuf *err);

/* NULL is a no-op; also frees a half-built encoder. */
void tw_encoder_destroy(tw_encoder *enc);

/* Runs the encoder on one window.  mel: [n_mels][n_frames] row-major with
 * n_frames = 2 * n_ctx.  *out receives [n_ctx][n_state] row-major, owned by
 * the encoder and valid until the next run or destroy.  t may be NULL. */
int tw_encoder_run(tw_encoder *enc, const float *mel, float **out, tw_encoder_timings *t);

int tw_encoder_n_ctx(const tw_encoder *enc);
int tw_encoder_n_frames(const tw_encoder *enc);
int tw_encoder_n_state(const tw_encoder *enc);
/* TW_PV_DIRECT or TW_PV_TRANSPOSED: what create chose or was told. */
int tw_encoder_pv(const tw_encoder *enc);

/* Message of the encoder's last failure ("" if none). */
const char *tw_encoder_last_error(const tw_encoder *enc);

/* Flops of all matrix products of one run over n_ctx positions: convs,
 * projections, attention products, MLP (2 flops per multiply-add).  About
 * 87.4e9 for base (n_state 512, 6 layers) at 1500 positions. */
double tw_encoder_flops(const tw_whisper_hparams *hp, int n_ctx);

#endif

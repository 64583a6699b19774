/* Whisper on the engine: models, per-stream states, audio, log-mel, encoder.
 *
 * Two objects, as whisper.cpp's context and state:
 *  - tw_model: a loaded ggml model file (whisper.cpp's format) with its
 *    weights prepared on one or two devices (encoder and decoder may run on
 *    different devices).  Read-only after loading; share it between threads.
 *  - tw_state: one stream of work over a model: its own engine streams,
 *    log-mel, activations and caches, all allocated at creation.  Create one
 *    per thread; a state must not be used from two threads at once.
 *
 * Errors: every call returns 0 (TW_OK) or a negative tw_status; the message
 * is in tw_model_last_error / tw_state_last_error for calls on an object and
 * in tw_last_error() (this thread's last failure) always.
 * Ownership: _create/_load allocate, the matching _destroy frees and accepts
 * NULL.  States must be destroyed before their model. */
#ifndef TILEWHISPER_WHISPER_H
#define TILEWHISPER_WHISPER_H

#include <stddef.h>
#include <stdint.h>

#include "tilewhisper/device.h"
#include "tilewhisper/export.h"
#include "tilewhisper/gemm.h"
#include "tilewhisper/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- audio ----------------------------------------------------------- */

#define TW_SAMPLE_RATE 16000

/* What was decoded.  A file whose data ends before the frame count its
 * header announces is decoded as far as it goes and flagged here, for the
 * caller to warn about (the library never prints). */
typedef struct tw_audio_info {
  int source_rate;         /* Hz, as the file says */
  int channels;
  long long header_frames; /* frames the header announces; -1 when unknown */
  long long frames_read;   /* frames decoded before the data ended */
  int truncated;           /* the data ends before header_frames */
} tw_audio_info;

/* Decodes an audio file (anything libsndfile reads: WAV, FLAC, OGG, ...;
 * "-" is standard input, pipes and FIFOs work) into mono 16 kHz samples.
 * Every input is opened exactly once.  Refused with a message naming the
 * problem: a directory, an empty file, a non-audio file, a damaged header,
 * NaN or infinite samples (the first one's time), audio over 12 hours.
 * info may be NULL.  *samples is freed with tw_audio_free. */
TW_API int tw_audio_read_file(const char *path, float **samples, size_t *n_samples,
                              tw_audio_info *info);
/* The same from an audio file's bytes in memory; `name` labels messages. */
TW_API int tw_audio_read_buffer(const void *data, size_t size, const char *name, float **samples,
                                size_t *n_samples, tw_audio_info *info);
TW_API void tw_audio_free(float *samples);

/* ---- models ---------------------------------------------------------- */

typedef struct tw_model tw_model;

typedef struct tw_model_options {
  /* Device of both halves: "cpu" (default), "emu", "opencl:0.0", ... with
   * options after a second colon ("emu:large=1"). */
  const char *device;
  /* Override `device` for one half (NULL = `device`): NPU deployments run
   * the encoder on the accelerator and the decoder on the CPU. */
  const char *encoder_device;
  const char *decoder_device;
  /* Kernel set of fixed-shape devices ("MxKxN[a],..."), NULL = default. */
  const char *kernels;
  /* Threads used while preparing weights; 0 = all cores. */
  int threads;
  /* 1: fp32 activations and weight storage (devices that compute in fp32);
   * 0: bf16, as an NPU takes them. */
  int fp32;
  /* 1: only read and check the file (hyper-parameters, vocabulary, tensor
   * table; a file without weights is accepted); nothing is prepared and no
   * state can be created.  For inspecting files. */
  int inspect_only;
} tw_model_options;

TW_API void tw_model_options_init(tw_model_options *opts);

/* Loads a whisper.cpp ggml model file (memory-mapped, checked tensor by
 * tensor) and prepares its weights.  opts may be NULL. */
TW_API int tw_model_load_file(const char *path, const tw_model_options *opts, tw_model **out);
/* The same from a file image in the caller's memory, which must stay valid
 * and unchanged until the model is destroyed (the weights are read from it
 * at preparation, and the vocabulary points into it).  `name` is used in
 * messages. */
TW_API int tw_model_load_buffer(const void *data, size_t size, const char *name,
                                const tw_model_options *opts, tw_model **out);
TW_API void tw_model_destroy(tw_model *model);
TW_API const char *tw_model_last_error(const tw_model *model);

typedef struct tw_model_info {
  /* hyper-parameters, as in the file */
  int n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
  int n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype;
  int multilingual;     /* n_vocab >= 51865 */
  int n_languages;      /* 99 (or 100 for large-v3) when multilingual, else 0 */
  const char *size;     /* "tiny", "base", ..., "large-v3", "large-v3-turbo", or "custom" */
  int has_encoder;      /* every encoder tensor is in the file */
  int has_decoder;      /* every decoder tensor is in the file */
  int n_vocab_file;     /* vocabulary entries stored in the file */
  size_t n_tensors;
  size_t file_bytes;
  size_t encoder_device_bytes; /* weight matrices held on the encoder's device */
  char encoder_device[32], decoder_device[32];
} tw_model_info;

TW_API int tw_model_get_info(const tw_model *model, tw_model_info *out);

typedef struct tw_tensor_info {
  char name[64];
  const char *type; /* "f32", "f16", ... */
  int n_dims;
  int64_t ne[4];    /* ggml order: ne[0] is the fastest-varying dimension */
  size_t file_offset;
} tw_tensor_info;

/* Tensor i (0 <= i < info.n_tensors) in file order. */
TW_API int tw_model_tensor(const tw_model *model, size_t i, tw_tensor_info *out);

/* The device running the encoder (or the decoder); owned by the model. */
TW_API tw_device *tw_model_encoder_device(const tw_model *model);
TW_API tw_device *tw_model_decoder_device(const tw_model *model);

/* ---- states ---------------------------------------------------------- */

typedef struct tw_state tw_state;

typedef struct tw_state_options {
  /* Worker threads of this state's streams; 0 = all cores. */
  int threads;
  /* Encoder positions per window; 0 = the model's n_audio_ctx (1500).
   * Smaller values are for tests. */
  int n_audio_ctx;
} tw_state_options;

TW_API void tw_state_options_init(tw_state_options *opts);
/* opts may be NULL. */
TW_API int tw_state_create(tw_model *model, const tw_state_options *opts, tw_state **out);
TW_API void tw_state_destroy(tw_state *state);
TW_API const char *tw_state_last_error(const tw_state *state);
/* Worker threads of the state's streams. */
TW_API int tw_state_threads(const tw_state *state);

/* ---- log-mel ---------------------------------------------------------- */

#define TW_N_FRAMES 3000 /* mel frames per 30 s window (10 ms each) */

/* Computes the log-mel of 16 kHz mono samples as OpenAI's transcribe()
 * does: the whole audio followed by 30 s of zeros, normalised over all of
 * it.  The state keeps it ([n_mels][n_frames], row-major) until the next
 * call; *n_frames (may be NULL) receives content frames + 3000. */
TW_API int tw_state_set_pcm(tw_state *state, const float *samples, size_t n_samples,
                            size_t *n_frames);
/* Frames that hold audio (n_frames - 3000), 0 before tw_state_set_pcm. */
TW_API size_t tw_state_content_frames(const tw_state *state);
/* The 30 s window starting at frame `seek` as the encoder takes it
 * (OpenAI's pad_or_trim of the mel): frames [seek, min(seek + 3000,
 * content)) followed by 0.0 columns up to 3000.  dst is [n_mels][3000]. */
TW_API int tw_state_mel_window(tw_state *state, size_t seek, float *dst);

/* ---- encoder ---------------------------------------------------------- */

#define TW_ENCODE_MAX_LAYERS 64

typedef struct tw_encode_stats {
  double total_s;
  double conv_s;     /* convolutional stem + positions */
  double layers_s;   /* the residual blocks */
  int n_layers;
  double layer_s[TW_ENCODE_MAX_LAYERS]; /* each block */
  double ln_post_s;
  double gemm_s;     /* wall time inside the engine's products */
  uint64_t gemm_calls;
  uint64_t invocations; /* device kernel invocations */
  double flops;         /* useful flops of every product */
  double modeled_device_s; /* the device's modeled time (emulated devices), else 0 */
} tw_encode_stats;

/* Runs the encoder on one window's mel ([n_mels][2 n_audio_ctx]).  *out
 * (may be NULL) points to [n_audio_ctx][n_audio_state] floats owned by the
 * state, valid until its next encode.  stats may be NULL. */
TW_API int tw_encode(tw_state *state, const float *mel, const float **out,
                     tw_encode_stats *stats);
/* The same on the window of tw_state_mel_window(state, seek). */
TW_API int tw_encode_window(tw_state *state, size_t seek, const float **out,
                            tw_encode_stats *stats);

#ifdef __cplusplus
}
#endif
#endif

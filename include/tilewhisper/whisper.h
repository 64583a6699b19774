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
#include <stdio.h>

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
  /* The file comes from an early converter that stored U+FFFD in place of
   * the byte tokens of partial UTF-8 sequences: English works, other
   * languages' text cannot be encoded or decoded right.  Warn the user. */
  int vocab_damaged;
  int vocab_fffd_tokens; /* tokens holding U+FFFD (the real vocabulary has 4) */
  size_t n_tensors;
  size_t file_bytes;
  size_t encoder_device_bytes; /* weight matrices held on the encoder's device */
  double decoder_step_bytes;   /* prepared weight bytes one decoding step reads (logits included) */
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
  /* Sequences decoded at once (beams or best-of samples); 0 = 5. */
  int max_beams;
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
/* The engine's running totals over the state's streams (encoder and
 * decoder): products, invocations, bytes, time, modeled device time. */
TW_API int tw_state_stats(const tw_state *state, tw_gemm_stats *out);

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


/* ---- tokenizer ------------------------------------------------------- */

/* Special token ids, derived from n_vocab as whisper.cpp and OpenAI do
 * (51864 English-only, 51865 multilingual, 51866 large-v3). */
typedef struct tw_special_tokens {
  int32_t n_vocab;
  int multilingual;
  int32_t eot, sot, translate, transcribe, sot_lm, sot_prev, no_speech, no_timestamps;
  int32_t timestamp_begin;  /* <|0.00|>; 1501 timestamps up to <|30.00|> */
  int32_t lang_begin;       /* sot + 1 = the first language token (<|en|>) */
  int32_t n_languages;      /* 99, or 100 for large-v3 (languages usable: multilingual only) */
} tw_special_tokens;

#define TW_N_LANGUAGES 100

/* OpenAI's languages in token order: code ("en") and name ("english") of
 * index 0..99; NULL outside.  tw_language_index takes a code or a name
 * (case-insensitive, OpenAI's aliases too) and returns -1 when unknown. */
TW_API const char *tw_language_code(int index);
TW_API const char *tw_language_name(int index);
TW_API int tw_language_index(const char *code_or_name);

TW_API int tw_model_special_tokens(const tw_model *model, tw_special_tokens *out);
/* Exact byte-level BPE (OpenAI's tiktoken ids) of UTF-8 text; *ids is freed
 * with tw_tokens_free.  Text is encoded as given (OpenAI encodes prompts as
 * " " + text.strip()). */
TW_API int tw_model_tokenize(const tw_model *model, const char *text, size_t len, int32_t **ids,
                             size_t *n_ids);
TW_API void tw_tokens_free(int32_t *ids);
/* The bytes of token `id` (not NUL-terminated; may hold part of a UTF-8
 * character); special tokens give their names ("<|endoftext|>", "<|0.00|>"). */
TW_API int tw_model_token_bytes(const tw_model *model, int32_t id, const char **bytes,
                                size_t *n_bytes);

/* ---- decoder --------------------------------------------------------- */

/* Encodes the 30 s window at mel frame `seek` (tw_state_mel_window) and
 * computes every decoder layer's cross-attention keys and values from it;
 * the tw_decode calls that follow attend to this window. */
TW_API int tw_decode_set_window(tw_state *state, size_t seek);
/* Advances n_seq sequences (beams, samples) by n_tok tokens each in one
 * pass: tokens is [n_seq][n_tok], every sequence has n_past positions in
 * its cache.  logits receives the logits of positions n_past + out_from ..
 * n_past + n_tok - 1 of each sequence: [n_seq][n_tok - out_from][n_vocab].
 * A prompt is one call with n_seq 1 (prefill); a step is n_tok 1. */
TW_API int tw_decode(tw_state *state, int n_seq, int n_tok, const int32_t *tokens, int n_past,
                     int out_from, float *logits);
/* Afterwards sequence i holds what sequence src[i] held (first n_past
 * cache positions), i < n_seq: fans a prompt out to beams and reorders them. */
TW_API int tw_decode_reorder(tw_state *state, int n_seq, const int *src, int n_past);
/* OpenAI's detect_language on the first 30 s of the state's audio (one
 * decoder pass from <|startoftranscript|>, softmax over the language tokens
 * only): probs[TW_N_LANGUAGES] (may be NULL; languages the model lacks get
 * 0) and the most likely index in *best. */
TW_API int tw_detect_language(tw_state *state, double *probs, int *best);

/* ---- transcription --------------------------------------------------- */

typedef struct tw_token_info {
  int32_t id;
  float prob;        /* probability when it was chosen (softmax of the filtered logits) */
  const char *bytes; /* the token's bytes (not NUL-terminated), owned by the model;
                        NULL for special and timestamp tokens */
  size_t n_bytes;
} tw_token_info;

typedef struct tw_segment {
  int id;                  /* 0-based, in order */
  int64_t seek;            /* mel frame (10 ms) where the segment's window started */
  double start, end;       /* seconds */
  char *text;              /* UTF-8, NUL-terminated, owned by the transcript */
  tw_token_info *tokens;   /* timestamp tokens included, as OpenAI lists them; owned */
  int n_tokens;
  double temperature;
  double avg_logprob;
  double compression_ratio;
  double no_speech_prob;
} tw_segment;

typedef struct tw_transcript {
  char language[8];        /* "en", "de", ... */
  char *text;              /* all segments' text concatenated, as OpenAI's result["text"]; owned */
  tw_segment *segments;    /* owned */
  int n_segments;
  int cap_segments;
} tw_transcript;

/* Frees everything the transcript owns and zeroes it; NULL is a no-op. */
TW_API void tw_transcript_clear(tw_transcript *t);

typedef struct tw_transcribe_options {
  const char *language;  /* "en", "german", ...; NULL or "auto": detected on the first window */
  int translate;         /* 0: transcribe, 1: translate to English */
  /* temperature fallback: T, T + increment, ... <= 1.0 (increment 0: T only) */
  double temperature;                 /* 0.0 */
  double temperature_increment;       /* 0.2 */
  double compression_ratio_threshold; /* 2.4 (NAN: off) */
  double logprob_threshold;           /* -1.0 (NAN: off) */
  double no_speech_threshold;         /* 0.6 (NAN: off) */
  int beam_size;         /* at T = 0; 0: greedy (OpenAI's transcribe() default; its CLI uses 5) */
  double patience;       /* 0: 1.0 */
  int best_of;           /* samples at T > 0: 5 */
  double length_penalty; /* NAN: divide by the length; else alpha in [0, 1] */
  int condition_on_previous_text; /* 1 */
  const char *initial_prompt;     /* text, or NULL */
  const char *suppress_tokens;    /* comma list of ids; "-1" = OpenAI's non-speech set (default) */
  int suppress_blank;             /* 1 */
  int without_timestamps;         /* 0 */
  double max_initial_timestamp;   /* 1.0 s */
  uint64_t seed;                  /* sampling at T > 0: same seed, same output */
  int max_tokens_per_window;      /* benchmarks: > 0 forbids EOT until that many tokens */
  /* callbacks (each may be NULL), all given `user` */
  void (*on_segment)(void *user, const tw_segment *segment); /* each segment once final */
  void (*on_progress)(void *user, double fraction);          /* after each window, 0..1 */
  int (*should_abort)(void *user); /* nonzero stops: TW_EABORTED, finished segments kept */
  void *user;
} tw_transcribe_options;

/* OpenAI's transcribe() defaults. */
TW_API void tw_transcribe_options_init(tw_transcribe_options *opts);

/* Transcribes 16 kHz mono samples as OpenAI's whisper.transcribe() does:
 * 30 s windows over the log-mel, temperature fallback, segments at
 * timestamp pairs, the previous text as the prompt.  *out is overwritten
 * (zero it first, or pass one cleared with tw_transcript_clear).  On
 * TW_EABORTED it holds the segments finished before the abort. */
TW_API int tw_transcribe(tw_state *state, const float *samples, size_t n_samples,
                         const tw_transcribe_options *opts, tw_transcript *out);

/* Where the last tw_transcribe on this state spent its time (wall seconds):
 * log-mel, the encoder's passes, the decoder's cross-attention K/V per
 * window, the decoder's forward passes (prefills, steps, beam reorders);
 * the rest of total_s is the decoding rules (filters, sampling, beams,
 * segments).  Counts: encoder passes (windows plus language detection) and
 * decoder calls. */
typedef struct tw_transcribe_stats {
  double total_s, mel_s, encode_s, cross_kv_s, decode_s;
  int encoder_passes;
  long decoder_calls;
} tw_transcribe_stats;
TW_API int tw_state_transcribe_stats(const tw_state *state, tw_transcribe_stats *out);

/* ---- output formats (as OpenAI's writers) ---------------------------- */

typedef enum tw_output_format {
  TW_OUTPUT_TXT,
  TW_OUTPUT_VTT,
  TW_OUTPUT_SRT,
  TW_OUTPUT_TSV,
  TW_OUTPUT_JSON,
  TW_OUTPUT_ALL /* every format above, one file each */
} tw_output_format;

/* "txt", "vtt", "srt", "tsv", "json" or "all". */
TW_API int tw_output_format_from_name(const char *name, tw_output_format *out);
TW_API const char *tw_output_format_name(tw_output_format fmt);
/* [HH:]MM:SS<marker>mmm as OpenAI's format_timestamp; returns the length. */
TW_API int tw_format_timestamp(double seconds, int always_include_hours, char decimal_marker,
                               char *buf, size_t cap);
/* One format (not ALL) to a stream. */
TW_API int tw_transcript_write(FILE *f, const tw_transcript *t, tw_output_format fmt);
/* The file a format of `audio_path` goes to: <out_dir>/<stem>.<ext> with
 * OpenAI's stem (os.path.splitext of the base name).  One format, not ALL. */
TW_API int tw_transcript_path(const char *out_dir, const char *audio_path, tw_output_format fmt,
                              char *buf, size_t cap);
/* <out_dir>/<audio stem>.<ext> (every format for ALL), each written
 * atomically: a failure leaves no partial file. */
TW_API int tw_transcript_write_file(const char *out_dir, const char *audio_path,
                                    const tw_transcript *t, tw_output_format fmt);

#ifdef __cplusplus
}
#endif
#endif

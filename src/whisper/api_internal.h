/* The objects behind include/tilewhisper/whisper.h. */
#ifndef TW_WHISPER_API_INTERNAL_H
#define TW_WHISPER_API_INTERNAL_H

#include "core/error.h"
#include "tilewhisper/whisper.h"
#include "whisper/decoder.h"
#include "whisper/encoder.h"
#include "whisper/logit_filters.h"
#include "whisper/logits_source.h"
#include "whisper/mel.h"
#include "whisper/model.h"
#include "whisper/token_text.h"
#include "whisper/tokenizer.h"

struct tw_model {
  tw_whisper_model *file;        /* hparams, vocabulary, tensors (mapped) */
  tw_device *enc_dev, *dec_dev;  /* owned; dec_dev == enc_dev when one device runs both */
  tw_encoder_weights *enc;       /* NULL when inspect_only */
  tw_decoder *dec;               /* NULL when the file has no decoder (or inspect_only) */
  tw_tokenizer *tok;             /* NULL when the vocabulary is unusable */
  tw_special_tokens sp;
  tw_decode_tokens ids;          /* the same ids as the decoding rules take them */
  int32_t non_speech[TW_NON_SPEECH_MAX]; /* OpenAI's "-1" set for this vocabulary */
  int n_non_speech;
  const char *language_codes[TW_N_LANGUAGES]; /* in language-token order */
  tw_token_text text;            /* token bytes for the decoding rules */
  int fp32, inspect_only;
  tw_errbuf err;
};

struct tw_state {
  tw_model *model;               /* borrowed */
  tw_stream *enc_stream;         /* on model->enc_dev */
  tw_stream *dec_stream;         /* on model->dec_dev; == enc_stream when one device */
  tw_encoder *enc;
  tw_decoder_state *dec;         /* NULL when the model has no decoder */
  tw_logits_source src;          /* encoder + decoder as the decoding rules see them */
  tw_mel *mel_ctx;
  float *mel;                    /* [n_mels][n_frames] of the last tw_state_set_pcm */
  size_t n_frames, content_frames;
  float *window;                 /* [n_mels][3000] scratch for tw_encode_window */
  tw_transcribe_stats run;       /* of the last tw_transcribe, accumulated as it runs */
  tw_errbuf err;
};

/* The model's tokenizer, special ids and non-speech set (api_tokens.c);
 * TW_OK with m->tok NULL when the file has no usable vocabulary. */
int tw_model_tokens_init(tw_model *m);
/* The state's tw_logits_source over its encoder and decoder (api_decode.c). */
void tw_state_source_init(tw_state *s);
/* The message of the model's missing decoder, for calls that need one. */
int tw_state_need_decoder(tw_state *s, const char *what);


#endif

/* The decoder through the public API: a state's encoder and decoder as one
 * tw_logits_source (what the decoding rules drive), and the raw calls for
 * applications that write their own loop. */
#include <string.h>

#include "core/mem.h"
#include "core/timing.h"
#include "gemm/context.h"
#include "whisper/api_internal.h"
#include "whisper/decoding.h"
#include "whisper/transcribe.h"

int tw_state_need_decoder(tw_state *s, const char *what) {
  if (s->dec) return TW_OK;
  return tw_err(&s->err, TW_EUNSUPPORTED,
                "%s: the model has no decoder (%s holds no decoder tensors, or its vocabulary "
                "is unusable): it can encode, not transcribe",
                what, s->model->file->path[0] ? s->model->file->path : "the file");
}

/* ---- the logits source ---- */

static int src_set_audio(void *self, const float *mel) {
  tw_state *s = self;
  const float *enc_out = NULL;
  double t0 = tw_now();
  int rc = tw_encode(s, mel, &enc_out, NULL);
  if (rc) return rc;
  double t1 = tw_now();
  rc = tw_decoder_set_audio(s->dec, enc_out, tw_encoder_n_ctx(s->enc));
  s->run.encode_s += t1 - t0;
  s->run.cross_kv_s += tw_now() - t1;
  s->run.encoder_passes++;
  if (rc) return tw_err(&s->err, rc, "%s", tw_decoder_last_error(s->dec));
  return TW_OK;
}

static int src_decode(void *self, int n_seq, int n_tok, const int32_t *tokens, int n_past,
                      int out_from, float *logits) {
  tw_state *s = self;
  double t0 = tw_now();
  int rc = tw_decoder_decode(s->dec, n_seq, n_tok, tokens, n_past, out_from, logits);
  s->run.decode_s += tw_now() - t0;
  s->run.decoder_calls++;
  if (rc) return tw_err(&s->err, rc, "%s", tw_decoder_last_error(s->dec));
  return TW_OK;
}

static int src_reorder(void *self, int n_seq, const int *src, int n_past) {
  tw_state *s = self;
  double t0 = tw_now();
  int rc = tw_decoder_reorder(s->dec, n_seq, src, n_past);
  s->run.decode_s += tw_now() - t0;
  if (rc) return tw_err(&s->err, rc, "%s", tw_decoder_last_error(s->dec));
  return TW_OK;
}

static const char *src_last_error(void *self) { return ((tw_state *)self)->err.msg; }

void tw_state_source_init(tw_state *s) {
  s->src = (tw_logits_source){.self = s,
                              .pool = s->dec ? tw_stream_pool(s->dec_stream) : NULL,
                              .n_vocab = s->model->file->hp.n_vocab,
                              .n_mels = s->model->file->n_mel, .set_audio = src_set_audio,
                              .decode = src_decode, .reorder = src_reorder,
                              .last_error = src_last_error};
}

/* ---- public calls ---- */

int tw_decode_set_window(tw_state *s, size_t seek) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_decode_set_window: state is NULL");
  int rc = tw_state_need_decoder(s, "tw_decode_set_window");
  if (rc) return rc;
  if ((rc = tw_state_mel_window(s, seek, s->window))) return rc;
  return src_set_audio(s, s->window);
}

int tw_decode(tw_state *s, int n_seq, int n_tok, const int32_t *tokens, int n_past, int out_from,
              float *logits) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_decode: state is NULL");
  int rc = tw_state_need_decoder(s, "tw_decode");
  if (rc) return rc;
  if (!tokens || !logits)
    return tw_err(&s->err, TW_EINVAL, "tw_decode: %s is NULL", tokens ? "logits" : "tokens");
  return src_decode(s, n_seq, n_tok, tokens, n_past, out_from, logits);
}

int tw_decode_reorder(tw_state *s, int n_seq, const int *src, int n_past) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_decode_reorder: state is NULL");
  int rc = tw_state_need_decoder(s, "tw_decode_reorder");
  if (rc) return rc;
  if (!src) return tw_err(&s->err, TW_EINVAL, "tw_decode_reorder: src is NULL");
  return src_reorder(s, n_seq, src, n_past);
}

int tw_detect_language(tw_state *s, double *probs, int *best) {
  if (!s) return tw_err(NULL, TW_EINVAL, "tw_detect_language: state is NULL");
  int rc = tw_state_need_decoder(s, "tw_detect_language");
  if (rc) return rc;
  if (!s->mel) return tw_err(&s->err, TW_EINVAL, "tw_detect_language: no audio (tw_state_set_pcm)");
  if (!s->model->sp.multilingual)
    return tw_err(&s->err, TW_EUNSUPPORTED, "tw_detect_language: an English-only model");
  double p[TW_N_LANGUAGES] = {0};
  int b = -1;
  rc = tw_loop_detect_language(&s->src, &s->model->ids, s->mel, s->model->file->n_mel,
                               (int64_t)s->content_frames, p, &b, &s->err);
  if (rc) return rc;
  if (probs) memcpy(probs, p, sizeof p);
  if (best) *best = b;
  return TW_OK;
}

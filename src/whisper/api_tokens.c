/* The public tokenizer calls and the model's token tables (special ids,
 * non-speech set, language codes, token bytes for the decoding rules). */
#include <string.h>

#include "core/mem.h"
#include "whisper/api_internal.h"

static const char *token_bytes(void *self, int32_t id, size_t *n) {
  const char *b = NULL;
  if (tw_tokenizer_token_bytes(self, id, &b, n, NULL)) {
    *n = 0;
    return NULL;
  }
  return b;
}

int tw_model_tokens_init(tw_model *m) {
  const tw_whisper_model *f = m->file;
  int rc = tw_special_tokens_for(f->hp.n_vocab, &m->sp, &m->err);
  if (rc) return rc;
  if ((rc = tw_tokenizer_create(f->token_bytes, f->token_lens, f->n_vocab_file, f->hp.n_vocab,
                                &m->tok, &m->err)))
    return rc;
  const tw_special_tokens *sp = &m->sp;
  m->ids = (tw_decode_tokens){.n_vocab = sp->n_vocab, .multilingual = sp->multilingual,
                              .eot = sp->eot, .sot = sp->sot, .sot_prev = sp->sot_prev,
                              .sot_lm = sp->sot_lm, .no_speech = sp->no_speech,
                              .no_timestamps = sp->no_timestamps, .transcribe = sp->transcribe,
                              .translate = sp->translate, .timestamp_begin = sp->timestamp_begin,
                              .lang_begin = sp->lang_begin, .n_languages = sp->n_languages,
                              .blank = 220 /* encode(" ") in both Whisper vocabularies */};
  /* A vocabulary that cannot spell OpenAI's symbols (a synthetic one
   * without byte tokens) has no non-speech set: "-1" then suppresses only
   * the specials. */
  if (tw_tokenizer_non_speech(m->tok, m->non_speech, &m->n_non_speech, NULL)) m->n_non_speech = 0;
  for (int i = 0; i < TW_N_LANGUAGES; i++) m->language_codes[i] = tw_language_code(i);
  m->text = (tw_token_text){.self = m->tok, .bytes = token_bytes};
  return TW_OK;
}

int tw_model_special_tokens(const tw_model *m, tw_special_tokens *out) {
  if (!m || !out) return tw_err(NULL, TW_EINVAL, "tw_model_special_tokens: %s is NULL", m ? "out" : "model");
  if (!m->tok) return tw_err(NULL, TW_EUNSUPPORTED, "the model's vocabulary is unusable");
  *out = m->sp;
  return TW_OK;
}

int tw_model_tokenize(const tw_model *m, const char *text, size_t len, int32_t **ids,
                      size_t *n_ids) {
  if (!m || !ids || !n_ids || (!text && len))
    return tw_err(NULL, TW_EINVAL, "tw_model_tokenize: NULL argument");
  *ids = NULL;
  *n_ids = 0;
  if (!m->tok) return tw_err(NULL, TW_EUNSUPPORTED, "the model's vocabulary is unusable");
  return tw_tokenizer_encode(m->tok, text ? text : "", len, 0, ids, n_ids, NULL);
}

void tw_tokens_free(int32_t *ids) { tw_free(ids); }

int tw_model_token_bytes(const tw_model *m, int32_t id, const char **bytes, size_t *n_bytes) {
  if (!m || !bytes || !n_bytes) return tw_err(NULL, TW_EINVAL, "tw_model_token_bytes: NULL argument");
  if (!m->tok) return tw_err(NULL, TW_EUNSUPPORTED, "the model's vocabulary is unusable");
  return tw_tokenizer_token_bytes(m->tok, id, bytes, n_bytes, NULL);
}

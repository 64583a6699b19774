/* Special token ids from the vocabulary size, as whisper.cpp derives them and
 * as OpenAI's get_encoding() lays them out after the BPE ranks:
 * <|endoftext|>, <|startoftranscript|>, the languages, translate,
 * transcribe, startoflm, startofprev, nospeech, notimestamps, 1501
 * timestamps. */
#include "whisper/tokenizer.h"

/* gpt2 has 50256 BPE ranks, the multilingual vocabulary 50257; the specials
 * follow them, so every size below is 2 + languages + 6 + 1501 past the ranks. */
#define TW_GPT2_RANKS 50256
#define TW_MULTI_RANKS 50257

int tw_special_tokens_for(int32_t n_vocab, tw_special_tokens *out, tw_errbuf *err) {
  int32_t ranks, n_lang;
  switch (n_vocab) {
    case 51864: ranks = TW_GPT2_RANKS, n_lang = 99; break;   /* *.en */
    case 51865: ranks = TW_MULTI_RANKS, n_lang = 99; break;  /* tiny ... large-v2 */
    case 51866: ranks = TW_MULTI_RANKS, n_lang = 100; break; /* large-v3, v3-turbo */
    default:
      return tw_err(err, TW_EINVAL,
                    "tokenizer: n_vocab %d is not a Whisper vocabulary (51864 .en, 51865 "
                    "multilingual, 51866 large-v3)",
                    (int)n_vocab);
  }
  tw_special_tokens s = {0};
  s.n_vocab = n_vocab;
  s.multilingual = n_vocab >= 51865;
  s.n_languages = n_lang;
  s.eot = ranks;
  s.sot = ranks + 1;
  s.lang_begin = s.sot + 1;
  s.translate = s.lang_begin + n_lang;
  s.transcribe = s.translate + 1;
  s.sot_lm = s.translate + 2;
  s.sot_prev = s.translate + 3;
  s.no_speech = s.translate + 4;
  s.no_timestamps = s.translate + 5;
  s.timestamp_begin = s.translate + 6;
  *out = s;
  return TW_OK;
}

int tw_special_always_suppressed(const tw_special_tokens *sp, int32_t out[6]) {
  out[0] = sp->transcribe;
  out[1] = sp->translate;
  out[2] = sp->sot;
  out[3] = sp->sot_prev;
  out[4] = sp->sot_lm;
  out[5] = sp->no_speech;
  return 6;
}

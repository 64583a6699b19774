/* Whisper's tokenizer, built from a model file's vocabulary.
 *
 * The ggml vocabulary is tiktoken's rank table written out as raw bytes: the
 * token id of every non-special token is its BPE merge rank.  So exact
 * byte-level BPE (OpenAI's encoding) needs nothing but the file: pre-split
 * with GPT-2's pattern, then merge the adjacent pair of lowest rank.  Special
 * tokens are not in the file; their ids follow from n_vocab alone
 * (tw_special_tokens_for).
 *
 * A tokenizer is immutable after creation and may be shared by threads.  It
 * borrows the vocabulary arrays (the model's, normally): they must outlive it. */
#ifndef TW_WHISPER_TOKENIZER_H
#define TW_WHISPER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tilewhisper/whisper.h"

/* ---- special tokens (special_tokens.c) ------------------------------------ */

/* tw_special_tokens: include/tilewhisper/whisper.h. */

#define TW_N_TIMESTAMPS 1501

/* The special ids of a Whisper vocabulary of n_vocab tokens, as OpenAI and
 * whisper.cpp derive them.  Only the three released sizes are accepted:
 * 51864 (.en), 51865 (multilingual) and 51866 (large-v3); any other n_vocab is
 * TW_EINVAL, since guessed ids would silently produce garbage. */
int tw_special_tokens_for(int32_t n_vocab, tw_special_tokens *out, tw_errbuf *err);

/* The specials OpenAI's SuppressTokens always adds: transcribe, translate,
 * sot, sot_prev, sot_lm, no_speech, in that order.  Writes 6 ids, returns 6. */
int tw_special_always_suppressed(const tw_special_tokens *sp, int32_t out[6]);

/* ---- languages (languages.c) ---------------------------------------------- */


/* OpenAI's language list in its order (index = language token - lang_begin):
 * "en", "zh", ..., "su", "yue".  NULL when index is out of range. */
/* Its English name ("english", ...). NULL when index is out of range. */
/* Index of a code or name (case-insensitive; OpenAI's aliases such as
 * "mandarin" or "castilian" included), or -1. */
/* Token id of a language (code, name or alias) for this vocabulary.
 * TW_ENOTFOUND for an unknown language or one the model lacks ("yue" before
 * large-v3); TW_EUNSUPPORTED on an English-only model. */
int tw_language_token(const tw_special_tokens *sp, const char *code_or_name, int32_t *id,
                      tw_errbuf *err);
/* Language index of a token id, or -1 when it is not a language token. */
int tw_language_of_token(const tw_special_tokens *sp, int32_t id);

/* ---- the tokenizer (tokenizer.c) ------------------------------------------ */

typedef struct tw_tokenizer tw_tokenizer;

/* What the vocabulary says about its own health.  whisper.cpp's converter
 * before Oct 2022 replaced the bytes of partial-UTF-8 tokens by U+FFFD
 * (tests/data/for-tests-ggml-base.bin: 1,480 tokens hold it, 128 byte
 * values lost their single-byte token).  Such a model transcribes English,
 * but non-ASCII text decodes to U+FFFD and often cannot be encoded. */
typedef struct tw_vocab_damage {
  int damaged;             /* some byte value has no single-byte token, so some
                              text cannot be encoded (also true of synthetic
                              vocabularies; n_fffd_tokens tells the converter's
                              damage apart) */
  int32_t n_fffd_tokens;   /* tokens whose bytes contain EF BF BD (the real
                              multilingual vocabulary has 4, gpt2 has 8) */
  int32_t n_missing_bytes; /* byte values without a single-byte token */
} tw_vocab_damage;

/* Builds the tokenizer of a vocabulary of n_vocab ids whose first n_vocab_file
 * tokens are token_bytes[i] (token_lens[i] bytes, may hold NUL, not
 * terminated) — the model loader's arrays, borrowed.  File tokens at ids from
 * eot on (written by some converters) are ignored: specials always get
 * OpenAI's names.  TW_EINVAL on an n_vocab tw_special_tokens_for refuses or
 * n_vocab_file outside [0, n_vocab]; TW_ENOMEM.  Release with
 * tw_tokenizer_destroy. */
int tw_tokenizer_create(const char *const *token_bytes, const uint32_t *token_lens,
                        int32_t n_vocab_file, int32_t n_vocab, tw_tokenizer **out,
                        tw_errbuf *err);
/* NULL is a no-op. */
void tw_tokenizer_destroy(tw_tokenizer *tok);

const tw_special_tokens *tw_tokenizer_specials(const tw_tokenizer *tok);
const tw_vocab_damage *tw_tokenizer_damage(const tw_tokenizer *tok);
int32_t tw_tokenizer_n_vocab(const tw_tokenizer *tok);

/* Bytes of one token, not NUL-terminated: the vocabulary's bytes for text
 * tokens, OpenAI's name for specials ("<|endoftext|>", "<|en|>",
 * "<|notimestamps|>", "<|1.08|>").  Pointers stay valid as long as the
 * tokenizer (and the vocabulary it borrows).  TW_ERANGE for an id outside
 * [0, n_vocab). */
int tw_tokenizer_token_bytes(const tw_tokenizer *tok, int32_t id, const char **bytes,
                             size_t *n_bytes, tw_errbuf *err);

/* Decode flags. */
enum {
  /* Keep timestamp tokens as "<|1.08|>" (OpenAI's decode_with_timestamps);
   * by default they are dropped, as OpenAI's decode() does. */
  TW_DECODE_TIMESTAMPS = 1u << 0,
  /* Replace malformed UTF-8 (a character cut at either end) by U+FFFD, one
   * per maximal invalid subpart, as OpenAI's text does (tiktoken decodes
   * with errors="replace"); by default the bytes are returned as they are. */
  TW_DECODE_REPLACE_INVALID = 1u << 1
};

/* Text of ids, assembled as bytes so a character split across tokens comes
 * out whole; other specials appear under their names, as in OpenAI's decode.
 * *text is NUL-terminated, allocated with tw_malloc_aligned (free with
 * tw_free); *n_text (may be NULL) gets its length.  Without
 * TW_DECODE_REPLACE_INVALID the bytes are what the tokens hold: a character
 * cut at the end stays cut.  TW_ERANGE on an id outside the vocabulary;
 * TW_ENOMEM. */
int tw_tokenizer_decode(const tw_tokenizer *tok, const int32_t *ids, size_t n_ids,
                        unsigned flags, char **text, size_t *n_text, tw_errbuf *err);

/* Encode flags. */
enum {
  /* On a damaged vocabulary, encode a byte without a token as the id its
   * single-byte token has in every byte-level BPE vocabulary (ids 0-255 are
   * the 256 bytes in GPT-2's order), instead of failing.  (tiktoken itself
   * would stop on the missing byte.)  Used for the non-speech set, so that a
   * damaged file still transcribes, with the set the reference documents for
   * such files (whisper-decoding.md, "Traps"). */
  TW_ENCODE_BYTE_FALLBACK = 1u << 0
};

/* OpenAI's encoding (tiktoken encode_ordinary) of len bytes of UTF-8 text:
 * text that looks like a special token ("<|endoftext|>") is ordinary text.
 * *ids is allocated with tw_malloc_aligned (free with tw_free), *n_ids tokens
 * (0 for empty text, then *ids may be NULL).  TW_EINVAL on malformed UTF-8,
 * naming the byte offset; TW_ENOTFOUND when a damaged vocabulary has no token
 * for some bytes of the text; TW_ENOMEM. */
int tw_tokenizer_encode(const tw_tokenizer *tok, const char *text, size_t len, unsigned flags,
                        int32_t **ids, size_t *n_ids, tw_errbuf *err);

/* ---- suppression (non_speech.c) ------------------------------------------- */

/* Upper bound on the size of the non-speech set (2 + 2 per symbol). */
#define TW_NON_SPEECH_MAX 128

/* OpenAI's tokenizer.non_speech_tokens (SuppressTokens "-1"), built from this
 * vocabulary by OpenAI's rule: sorted ascending, no duplicates, *n ids into
 * out[TW_NON_SPEECH_MAX].  82 ids for the real multilingual vocabulary, 84
 * for gpt2.  Encodes with TW_ENCODE_BYTE_FALLBACK, so a damaged vocabulary
 * gets a set too (for-tests-ggml-base.bin: without 873 and 3268, with 158
 * and 220, the space token). */
int tw_tokenizer_non_speech(const tw_tokenizer *tok, int32_t out[TW_NON_SPEECH_MAX], int *n,
                            tw_errbuf *err);

#endif

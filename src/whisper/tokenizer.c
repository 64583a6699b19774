/* The tokenizer object: vocabulary map, special token names, damage check,
 * decoding (bytes out) and encoding (pre-split, then BPE per piece). */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "whisper/tokenizer_impl.h"

int32_t tw__gpt2_byte_id(unsigned b) {
  if (b >= 33 && b <= 126) return (int32_t)(b - 33);
  if (b >= 161 && b <= 172) return (int32_t)(94 + b - 161);
  if (b >= 174) return (int32_t)(106 + b - 174);
  if (b <= 32) return (int32_t)(188 + b);
  if (b >= 127 && b <= 160) return (int32_t)(221 + b - 127);
  return 255; /* 173, the soft hyphen */
}

/* OpenAI's name of special id `id` (>= eot) into buf; returns its length. */
static int special_name(const tw_special_tokens *sp, int32_t id, char *buf, size_t cap) {
  static const char *const k_fixed[] = {"<|translate|>", "<|transcribe|>", "<|startoflm|>",
                                        "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"};
  int lang = tw_language_of_token(sp, id);
  if (id == sp->eot) return snprintf(buf, cap, "<|endoftext|>");
  if (id == sp->sot) return snprintf(buf, cap, "<|startoftranscript|>");
  if (lang >= 0) return snprintf(buf, cap, "<|%s|>", tw_language_code(lang));
  if (id < sp->timestamp_begin) return snprintf(buf, cap, "%s", k_fixed[id - sp->translate]);
  /* f"{i * 0.02:.2f}" in OpenAI; i / 50 in exact decimal gives the same text. */
  int i = id - sp->timestamp_begin;
  return snprintf(buf, cap, "<|%d.%02d|>", i / 50, (i % 50) * 2);
}

static int build_special_text(tw_tokenizer *t, tw_errbuf *err) {
  int32_t n = t->sp.n_vocab - t->n_text;
  t->special_off = tw_calloc_aligned((size_t)n + 1, sizeof *t->special_off);
  t->special_text = tw_malloc_aligned((size_t)n * 24); /* longest: <|startoftranscript|> */
  if (!t->special_off || !t->special_text)
    return tw_err(err, TW_ENOMEM, "tokenizer: names of %d special tokens", (int)n);
  uint32_t at = 0;
  for (int32_t k = 0; k < n; k++) {
    int32_t id = t->n_text + k;
    t->special_off[k] = at;
    /* Ids between the file's last token and eot have no text (none in released files). */
    if (id >= t->sp.eot) at += (uint32_t)special_name(&t->sp, id, t->special_text + at, 24);
  }
  t->special_off[n] = at;
  return TW_OK;
}

/* Damage: a byte-level BPE vocabulary has a single-byte token for each of
 * the 256 bytes; the early converter turned those of 0x80-0xFF into U+FFFD. */
static void check_damage(tw_tokenizer *t) {
  static const unsigned char fffd[3] = {0xEF, 0xBF, 0xBD};
  for (int32_t id = 0; id < t->n_text; id++) {
    const char *b = t->bytes[id];
    for (uint32_t i = 0; i + 3 <= t->lens[id]; i++)
      if (!memcmp(b + i, fffd, 3)) {
        t->damage.n_fffd_tokens++;
        break;
      }
  }
  for (unsigned b = 0; b < 256; b++) {
    unsigned char byte = (unsigned char)b;
    t->byte_fallback[b] = -1;
    if (tw__vocab_map_find(&t->map, &byte, 1) >= 0) continue;
    t->damage.n_missing_bytes++;
    int32_t id = tw__gpt2_byte_id(b);
    /* Recover the id only where the damage shows at the expected place. */
    if (id < t->n_text && t->lens[id] == 3 && !memcmp(t->bytes[id], fffd, 3))
      t->byte_fallback[b] = id;
  }
  t->damage.damaged = t->damage.n_missing_bytes > 0;
}

int tw_tokenizer_create(const char *const *token_bytes, const uint32_t *token_lens,
                        int32_t n_vocab_file, int32_t n_vocab, tw_tokenizer **out,
                        tw_errbuf *err) {
  *out = NULL;
  tw_special_tokens sp;
  int rc = tw_special_tokens_for(n_vocab, &sp, err);
  if (rc) return rc;
  if (n_vocab_file < 0 || n_vocab_file > n_vocab || (n_vocab_file && (!token_bytes || !token_lens)))
    return tw_err(err, TW_EINVAL, "tokenizer: %d vocabulary tokens for n_vocab %d",
                  (int)n_vocab_file, (int)n_vocab);
  tw_tokenizer *t = tw_calloc_aligned(1, sizeof *t);
  if (!t) return tw_err(err, TW_ENOMEM, "tokenizer: out of memory");
  t->sp = sp;
  /* Some converters write the specials' text too (and synthetic models
   * write n_vocab tokens): ids from eot on are special whatever the file
   * says, named as OpenAI names them and never merged. */
  t->n_text = n_vocab_file < sp.eot ? n_vocab_file : sp.eot;
  t->bytes = token_bytes, t->lens = token_lens;
  if ((rc = tw__vocab_map_build(&t->map, token_bytes, token_lens, t->n_text, err)) ||
      (rc = build_special_text(t, err))) {
    tw_tokenizer_destroy(t);
    return rc;
  }
  check_damage(t);
  *out = t;
  return TW_OK;
}

void tw_tokenizer_destroy(tw_tokenizer *tok) {
  if (!tok) return;
  tw__vocab_map_free(&tok->map);
  tw_free(tok->special_text);
  tw_free(tok->special_off);
  tw_free(tok);
}

const tw_special_tokens *tw_tokenizer_specials(const tw_tokenizer *tok) { return &tok->sp; }
const tw_vocab_damage *tw_tokenizer_damage(const tw_tokenizer *tok) { return &tok->damage; }
int32_t tw_tokenizer_n_vocab(const tw_tokenizer *tok) { return tok->sp.n_vocab; }

int tw_tokenizer_token_bytes(const tw_tokenizer *tok, int32_t id, const char **bytes,
                             size_t *n_bytes, tw_errbuf *err) {
  if (id < 0 || id >= tok->sp.n_vocab)
    return tw_err(err, TW_ERANGE, "tokenizer: token id %d outside [0, %d)", (int)id,
                  (int)tok->sp.n_vocab);
  if (id < tok->n_text) {
    *bytes = tok->bytes[id], *n_bytes = tok->lens[id];
  } else {
    int32_t k = id - tok->n_text;
    *bytes = tok->special_text + tok->special_off[k];
    *n_bytes = tok->special_off[k + 1] - tok->special_off[k];
  }
  return TW_OK;
}

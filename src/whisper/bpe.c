/* Byte-level BPE over the model's vocabulary: a hash map from bytes to id
 * (= merge rank), and tiktoken's merge loop for one pre-split piece. */
#include <string.h>

#include "core/mem.h"
#include "whisper/tokenizer_impl.h"

/* FNV-1a: short keys, no adversary to defend against (the vocabulary is the
 * model's own). */
static uint64_t hash_bytes(const unsigned char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

int tw__vocab_map_build(tw_vocab_map *m, const char *const *bytes, const uint32_t *lens,
                        int32_t n, tw_errbuf *err) {
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2; /* load <= 1/2: short probe chains */
  m->slots = tw_calloc_aligned(cap, sizeof *m->slots);
  if (!m->slots) return tw_err(err, TW_ENOMEM, "tokenizer: hash map of %zu slots", cap);
  m->mask = cap - 1, m->bytes = bytes, m->lens = lens;
  for (int32_t id = 0; id < n; id++) {
    const unsigned char *s = (const unsigned char *)bytes[id];
    if (!lens[id]) continue; /* the multilingual file's empty token 50256 */
    /* A duplicate (U+FFFD in a damaged vocabulary) keeps its lowest id. */
    if (tw__vocab_map_find(m, s, lens[id]) >= 0) continue;
    size_t i = (size_t)hash_bytes(s, lens[id]) & m->mask;
    while (m->slots[i]) i = (i + 1) & m->mask;
    m->slots[i] = (uint32_t)id + 1;
  }
  return TW_OK;
}

void tw__vocab_map_free(tw_vocab_map *m) {
  tw_free(m->slots);
  m->slots = NULL;
}

int32_t tw__vocab_map_find(const tw_vocab_map *m, const unsigned char *s, size_t n) {
  for (size_t i = (size_t)hash_bytes(s, n) & m->mask; m->slots[i]; i = (i + 1) & m->mask) {
    uint32_t id = m->slots[i] - 1;
    if (m->lens[id] == n && !memcmp(m->bytes[id], s, n)) return (int32_t)id;
  }
  return -1;
}

#define NO_RANK UINT32_MAX

/* Rank of the merge of parts i and i+1 (bytes pos[i] .. pos[i+2]). */
static uint32_t pair_rank(const tw_tokenizer *tok, const unsigned char *s, const uint32_t *pos,
                          size_t n_parts, size_t i) {
  if (i + 1 >= n_parts) return NO_RANK;
  int32_t id = tw__vocab_map_find(&tok->map, s + pos[i], pos[i + 2] - pos[i]);
  return id < 0 ? NO_RANK : (uint32_t)id;
}

/* Merges until no adjacent pair is a token: always the lowest rank, the
 * leftmost on a tie, as tiktoken does.  pos[0..n_parts] are part bounds. */
static size_t merge(const tw_tokenizer *tok, const unsigned char *s, uint32_t *pos,
                    uint32_t *rank, size_t n_parts) {
  for (size_t i = 0; i < n_parts; i++) rank[i] = pair_rank(tok, s, pos, n_parts, i);
  while (n_parts > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n_parts; i++)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == NO_RANK) break;
    /* Part best absorbs best+1: drop bound best+1 and its pair rank. */
    memmove(pos + best + 1, pos + best + 2, (n_parts - best - 1) * sizeof *pos);
    memmove(rank + best + 1, rank + best + 2, (n_parts - best - 2) * sizeof *rank);
    n_parts--;
    rank[best] = pair_rank(tok, s, pos, n_parts, best);
    if (best > 0) rank[best - 1] = pair_rank(tok, s, pos, n_parts, best - 1);
  }
  return n_parts;
}

long tw__bpe_piece(const tw_tokenizer *tok, const unsigned char *s, size_t n, unsigned flags,
                   uint32_t *scratch, int32_t *ids, size_t *missing_at) {
  /* tiktoken takes a piece that is itself a token as is, before merging. */
  int32_t whole = tw__vocab_map_find(&tok->map, s, n);
  if (whole >= 0) return ids[0] = whole, 1;
  uint32_t *pos = scratch, *rank = scratch + n + 1;
  for (size_t i = 0; i <= n; i++) pos[i] = (uint32_t)i;
  size_t n_parts = merge(tok, s, pos, rank, n);
  for (size_t i = 0; i < n_parts; i++) {
    size_t len = pos[i + 1] - pos[i];
    int32_t id = tw__vocab_map_find(&tok->map, s + pos[i], len);
    if (id < 0 && len == 1 && (flags & TW_ENCODE_BYTE_FALLBACK)) id = tok->byte_fallback[s[pos[i]]];
    if (id < 0) return *missing_at = pos[i], -1;
    ids[i] = id;
  }
  return (long)n_parts;
}

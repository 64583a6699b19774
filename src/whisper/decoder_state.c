/* A decoder state (one stream): its buffers and per-call attention operands,
 * the window's cross-attention K/V, and beam reordering of the KV cache. */
#include <string.h>

#include "core/mem.h"
#include "gemm/context.h"
#include "device/device.h"
#include "gemm/engine.h"
#include "whisper/decoder_impl.h"

static int prepare(tw_decoder_state *st, const tw_weight_desc *d, tw_weight **out) {
  int rc = tw_weight_prepare(st->dec->dev, d, out);
  if (rc)
    return tw_err(&st->err, rc, "decoder: preparing %s (K %zu, N %zu) on %s: %s", d->name, d->k,
                  d->n, st->dec->dev->name, tw_device_last_error(st->dec->dev));
  return TW_OK;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static int alloc_buffers(tw_decoder_state *st) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, R = (size_t)st->max_rows, f = sizeof(float);
  const size_t as = d->act == TW_DTYPE_BF16 ? 2 : 4;
  const size_t width = max_size((size_t)d->n_text_ctx, (size_t)st->n_audio_ctx);
  const size_t S = (size_t)st->max_seq, H = (size_t)d->n_layer * d->n_head;
  size_t kv_count;
  if (tw_mul3_size(S * d->n_layer * 2, (size_t)d->n_text_ctx, n, &kv_count))
    return tw_err(&st->err, TW_EOVERFLOW, "decoder: KV cache size overflows");
  st->kv = tw_calloc_aligned(kv_count, as);
  st->slot = tw_calloc_aligned(S, sizeof *st->slot);
  st->reorder_tmp = tw_calloc_aligned(3 * S, sizeof *st->reorder_tmp);
  st->cross_k_t = tw_calloc_aligned(H, sizeof *st->cross_k_t);
  st->cross_v = tw_calloc_aligned(H, sizeof *st->cross_v);
  st->cross_kv = tw_calloc_aligned((size_t)st->n_audio_ctx * 2 * n, f);
  st->x = tw_calloc_aligned(R * n, f);
  st->xn = tw_calloc_aligned(R * n, as);
  st->qkv = tw_calloc_aligned(R * 3 * n, f);
  st->scores = tw_calloc_aligned(R * width, f);
  st->probs = tw_calloc_aligned(R * width, as);
  st->rows = tw_calloc_aligned((size_t)tw_threadpool_size(st->pool) * width, f);
  st->attn = tw_calloc_aligned(R * n, f);
  st->q_blk_data = tw_calloc_aligned(n * d->n_head, f);
  st->heads = tw_calloc_aligned(max_size((size_t)d->n_text_ctx, n) * d->n_head, f);
  st->proj = tw_calloc_aligned(R * n, f);
  st->mlp_h = tw_calloc_aligned(R * 4 * n, f);
  st->mlp_a = tw_calloc_aligned(R * 4 * n, as);
  if (!st->kv || !st->slot || !st->reorder_tmp || !st->cross_k_t || !st->cross_v ||
      !st->cross_kv || !st->x || !st->xn || !st->qkv || !st->scores ||
      !st->probs || !st->rows || !st->attn || !st->q_blk_data || !st->heads || !st->proj ||
      !st->mlp_h || !st->mlp_a)
    return tw_err(&st->err, TW_ENOMEM,
                  "decoder: out of memory for a state of %d sequences (KV cache %zu MB)",
                  st->max_seq, kv_count * as >> 20);
  for (int i = 0; i < st->max_seq; i++) st->slot[i] = i;
  return TW_OK;
}

/* The weights of one bucket of n_keys keys, pointing into the cache and
 * the probabilities for now (decode refills them per sequence and head). */
static int prepare_bucket(tw_decoder_state *st, tw_dec_bucket *b) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, hd = (size_t)d->head_dim, keys = (size_t)b->n_keys;
  tw_weight_desc kt = {.data = tw_dec_cache(st, 0, 0, 0), .dtype = d->act, .k = hd,
                       .n = keys, .ld = n, .transposed = 1, .storage = d->act,
                       .name = "self-attention K_h^T"};
  tw_weight_desc v = {.data = tw_dec_cache(st, 0, 0, 1), .dtype = d->act, .k = keys,
                      .n = hd, .ld = (size_t)d->n_text_ctx, .transposed = 1, .storage = d->act,
                      .name = "self-attention V_h"};
  tw_weight_desc p = {.data = st->probs, .dtype = d->act, .k = keys, .n = (size_t)d->n_head,
                      .ld = keys, .transposed = 1, .storage = d->act,
                      .name = "self-attention P^T"};
  int rc;
  if ((rc = prepare(st, &kt, &b->k_t)) || (rc = prepare(st, &v, &b->v)) ||
      (rc = prepare(st, &p, &b->p)))
    return rc;
  return TW_OK;
}

/* Buckets of 16, 32, 64 keys, then every 64 up to n_text_ctx (9 for 448):
 * fine enough that the padding costs little, few enough to prepare. */
static int prepare_buckets(tw_decoder_state *st) {
  const tw_decoder *d = st->dec;
  int keys = d->n_text_ctx < 16 ? d->n_text_ctx : 16;
  for (;;) {
    if (st->n_buckets == TW_DEC_MAX_BUCKETS)
      return tw_err(&st->err, TW_EINVAL, "decoder: n_text_ctx %d needs too many key buckets",
                    d->n_text_ctx);
    tw_dec_bucket *b = &st->buckets[st->n_buckets++];
    b->n_keys = keys;
    int rc = prepare_bucket(st, b);
    if (rc) return rc;
    if (keys == d->n_text_ctx) break;
    keys = keys < 64 ? 2 * keys : keys + 64;
    if (keys > d->n_text_ctx) keys = d->n_text_ctx;
  }
  tw_weight_desc q = {.data = st->q_blk_data, .dtype = TW_DTYPE_F32, .k = (size_t)d->n_state,
                      .n = (size_t)d->n_head, .ld = (size_t)d->n_head, .storage = d->act,
                      .name = "self-attention block-diagonal q"};
  return prepare(st, &q, &st->q_blk);
}

/* Every layer's and head's cross-attention K_h^T (K head_dim, N n_audio_ctx)
 * and V_h (K n_audio_ctx, N head_dim), refilled by set_audio. */
static int prepare_cross(tw_decoder_state *st) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, hd = (size_t)d->head_dim, T = (size_t)st->n_audio_ctx;
  for (int i = 0; i < d->n_layer * d->n_head; i++) {
    const float *src = st->cross_kv + (size_t)(i % d->n_head) * hd;
    tw_weight_desc kt = {.data = src, .dtype = TW_DTYPE_F32, .k = hd, .n = T, .ld = 2 * n,
                         .transposed = 1, .storage = d->act, .name = "cross-attention K_h^T"};
    tw_weight_desc v = {.data = src + n, .dtype = TW_DTYPE_F32, .k = T, .n = hd, .ld = 2 * n,
                        .storage = d->act, .name = "cross-attention V_h"};
    int rc;
    if ((rc = prepare(st, &kt, &st->cross_k_t[i])) || (rc = prepare(st, &v, &st->cross_v[i])))
      return rc;
  }
  return TW_OK;
}

int tw_decoder_state_create(const tw_decoder *dec, tw_stream *run_ctx, int max_seq,
                            int n_audio_ctx, tw_decoder_state **out, tw_errbuf *err) {
  if (out) *out = NULL;
  if (!dec || !run_ctx || !out)
    return tw_err(err, TW_EINVAL, "decoder state: %s is NULL",
                  !dec ? "decoder" : !run_ctx ? "stream" : "out");
  if (tw_stream_device(run_ctx) != dec->dev)
    return tw_err(err, TW_EWRONGDEVICE, "decoder state: the stream runs on %s, the weights are on %s",
                  tw_stream_device(run_ctx)->name, dec->dev->name);
  const int hp_audio = dec->model->hp.n_audio_ctx;
  if (n_audio_ctx == 0) n_audio_ctx = hp_audio;
  if (max_seq < 1 || max_seq > 1024 || n_audio_ctx < 1 || n_audio_ctx > hp_audio)
    return tw_err(err, TW_EINVAL,
                  "decoder state: max_seq %d outside [1, 1024] or n_audio_ctx %d outside [1, %d]",
                  max_seq, n_audio_ctx, hp_audio);
  tw_decoder_state *st = tw_calloc_aligned(1, sizeof *st);
  if (!st) return tw_err(err, TW_ENOMEM, "decoder state: out of memory");
  st->dec = dec;
  st->ctx = run_ctx;
  st->pool = tw_stream_pool(run_ctx);
  st->gemm_opts.a_compute = dec->act;
  st->max_seq = max_seq;
  st->max_rows = max_seq > dec->n_text_ctx ? max_seq : dec->n_text_ctx;
  st->n_audio_ctx = n_audio_ctx;
  int rc;
  if ((rc = alloc_buffers(st)) || (rc = prepare_buckets(st)) || (rc = prepare_cross(st))) {
    if (err) *err = st->err;
    tw_decoder_state_destroy(st);
    return rc;
  }
  *out = st;
  return TW_OK;
}

void tw_decoder_state_destroy(tw_decoder_state *st) {
  if (!st) return;
  for (int i = 0; i < st->n_buckets; i++) {
    tw_weight_destroy(st->buckets[i].k_t);
    tw_weight_destroy(st->buckets[i].v);
    tw_weight_destroy(st->buckets[i].p);
  }
  tw_weight_destroy(st->q_blk);
  const int H = st->dec->n_layer * st->dec->n_head;
  for (int i = 0; i < H; i++) {
    if (st->cross_k_t) tw_weight_destroy(st->cross_k_t[i]);
    if (st->cross_v) tw_weight_destroy(st->cross_v[i]);
  }
  void *bufs[] = {st->kv,   st->slot,   st->reorder_tmp, st->cross_k_t, st->cross_v,
                  st->cross_kv, st->x,  st->xn,          st->qkv,       st->scores,
                  st->probs, st->rows,  st->attn,  st->q_blk_data, st->heads,
                  st->proj, st->mlp_h,  st->mlp_a};
  for (size_t j = 0; j < sizeof bufs / sizeof bufs[0]; j++) tw_free(bufs[j]);
  tw_free(st);
}

int tw_decoder_state_max_seq(const tw_decoder_state *st) { return st->max_seq; }
const char *tw_decoder_last_error(const tw_decoder_state *st) { return st ? st->err.msg : ""; }

/* ---- the window's cross-attention K/V ---- */

/* Layer l's cross K | V of the window (one product, N = 2 n_state) and
 * every head's K_h^T and V_h from it. */
static int cross_projection(tw_decoder_state *st, const float *enc_out, int l) {
  const tw_decoder *d = st->dec;
  const size_t n = (size_t)d->n_state, T = (size_t)st->n_audio_ctx, hd = (size_t)d->head_dim;
  enum { MAX_HEADS = 64 };
  tw_weight *w[2 * MAX_HEADS];
  size_t col[2 * MAX_HEADS];
  const size_t H = (size_t)d->n_head, i0 = (size_t)l * H;
  if (H > MAX_HEADS)
    return tw_err(&st->err, TW_EUNSUPPORTED, "decoder: %zu heads (at most %d)", H, MAX_HEADS);
  for (size_t h = 0; h < H; h++) {
    w[2 * h] = st->cross_k_t[i0 + h], col[2 * h] = h * hd;
    w[2 * h + 1] = st->cross_v[i0 + h], col[2 * h + 1] = n + h * hd;
  }
  /* the cpu device writes every head's part of each block of K | V while
   * the block is in cache; elsewhere the heads are refilled after it */
  int rc = tw_gemm_into_cols(st->ctx, T, n, enc_out, TW_DTYPE_F32, n, d->blocks[l].ckv,
                             st->cross_kv, 2 * n, &st->gemm_opts, 2 * H, w, col);
  if (rc)
    return tw_err(&st->err, rc, "decoder: layer %d's cross_attn.key|value (M %zu, K %zu, N %zu) "
                  "and its heads: %s", l, T, n, 2 * n, tw_stream_last_error(st->ctx));
  return TW_OK;
}

int tw_decoder_set_audio(tw_decoder_state *st, const float *enc_out, int n_audio_ctx) {
  if (!st) return tw_err(NULL, TW_EINVAL, "decoder: NULL state");
  if (!enc_out) return tw_err(&st->err, TW_EINVAL, "decoder: set_audio: enc_out is NULL");
  if (n_audio_ctx != st->n_audio_ctx)
    return tw_err(&st->err, TW_EINVAL,
                  "decoder: set_audio: %d encoder positions, the state was made for %d",
                  n_audio_ctx, st->n_audio_ctx);
  st->has_audio = 0;
  for (int l = 0; l < st->dec->n_layer; l++) {
    int rc = cross_projection(st, enc_out, l);
    if (rc) return rc;
  }
  st->has_audio = 1;
  return TW_OK;
}

/* ---- beam reordering ---- */

/* The first n_past positions of slot `from` into slot `to`: K rows, and
 * the same columns of every V^T row. */
static void copy_slot(tw_decoder_state *st, int from, int to, int n_past) {
  const tw_decoder *d = st->dec;
  const size_t row = (size_t)d->n_text_ctx * tw_dec_kv_elem(st);
  const size_t cols = (size_t)n_past * tw_dec_kv_elem(st);
  for (int l = 0; l < d->n_layer; l++) {
    memcpy(tw_dec_cache(st, to, l, 0), tw_dec_cache(st, from, l, 0), cols * d->n_state);
    const char *src = tw_dec_cache(st, from, l, 1);
    char *dst = tw_dec_cache(st, to, l, 1);
    for (size_t i = 0; i < (size_t)d->n_state; i++) memcpy(dst + i * row, src + i * row, cols);
  }
}

/* Sequence i takes physical slot slot[src[i]] when it is the first to ask
 * for it; later askers get a slot nobody asked for, filled by a copy (the
 * sources are all asked-for slots, so no copy overwrites one). */
int tw_decoder_reorder(tw_decoder_state *st, int n_seq, const int *src, int n_past) {
  if (!st) return tw_err(NULL, TW_EINVAL, "decoder: NULL state");
  const int S = st->max_seq;
  if (!src || n_seq < 1 || n_seq > S || n_past < 0 || n_past > st->dec->n_text_ctx)
    return tw_err(&st->err, TW_EINVAL,
                  "decoder: reorder of %d sequences (max %d) at n_past %d (max %d)%s", n_seq, S,
                  n_past, st->dec->n_text_ctx, src ? "" : ": src is NULL");
  for (int i = 0; i < n_seq; i++)
    if (src[i] < 0 || src[i] >= S)
      return tw_err(&st->err, TW_EINVAL, "decoder: reorder: src[%d] = %d outside [0, %d)", i,
                    src[i], S);
  int *asked = st->reorder_tmp, *taken = asked + S, *next = taken + S;
  for (int p = 0; p < S; p++) asked[p] = taken[p] = 0;
  for (int i = 0; i < n_seq; i++) asked[st->slot[src[i]]] = 1;
  for (int i = 0; i < n_seq; i++) {
    const int p = st->slot[src[i]];
    next[i] = taken[p] ? -1 : p;
    taken[p] = 1;
  }
  /* the duplicates (next -1) and sequences n_seq.. take the unasked slots */
  int free_p = 0;
  for (int i = 0; i < S; i++) {
    if (i < n_seq && next[i] >= 0) continue;
    while (asked[free_p]) free_p++; /* as many unasked slots as sequences left over */
    if (i < n_seq) copy_slot(st, st->slot[src[i]], free_p, n_past);
    next[i] = free_p++;
  }
  memcpy(st->slot, next, (size_t)S * sizeof *next);
  return TW_OK;
}

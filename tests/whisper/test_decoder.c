/* The decoder against an independent fp64 forward pass (tw_test_decref.c)
 * on every device in this build, in fp32 and bf16 modes; the KV cache
 * against recomputing the prefix; batched steps against single rows; beam
 * reordering; a synthetic model file through the loader; bad input. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_test.h"
#include "tw_test_stack.h"
#include "tw_test_decref.h"
#include "tw_test_memmodel.h"
#include "core/mem.h"
#include "whisper/decoder.h"

#define FP32_BOUND 1e-4
#define BF16_BOUND 1e-2
#define SAME_BOUND 1e-5 /* two fp32 computations of the same logits */

/* n_text_ctx 40: the key buckets 16, 32 and 40 are all crossed */
static const tw_test_model_spec SPEC = {.n_state = 128, .n_head = 4, .n_layer = 1, .n_mels = 80,
                                        .n_audio_ctx = 24, .qk_std = 0.1, .seed = 11,
                                        .n_text_layer = 2, .n_text_ctx = 40, .n_vocab = 300};

typedef struct fixture {
  const tw_whisper_model *m;
  float *enc;      /* [n_audio_ctx][n_state] a stand-in encoder output */
  int32_t tok[40]; /* one sequence of n_text_ctx random tokens */
} fixture;

/* A device and a stream on it (tw_test_stack), or NULL. */
static tw_test_stack *open_device(const char *device) {
  tw_test_stack *ctx = calloc(1, sizeof *ctx);
  int rc = ctx ? tw_test_stack_open(ctx, device, 2) : TW_ENOMEM;
  if (rc == TW_ENOTFOUND) {
    printf("  %-6s skipped: device not in this build\n", device);
    free(ctx);
    return NULL;
  }
  CHECK_MSG(rc == TW_OK, "%s: %s", device, tw_last_error());
  if (rc) {
    free(ctx);
    return NULL;
  }
  return ctx;
}

static void close_device(tw_test_stack *ctx) {
  if (!ctx) return;
  tw_test_stack_close(ctx);
  free(ctx);
}

/* Decoder and state with the window's audio set; 0, or the create code. */
static int open_state(const fixture *f, tw_test_stack *ctx, int fp32, int max_seq, tw_decoder **dec,
                      tw_decoder_state **st) {
  tw_decoder_options o;
  tw_decoder_options_init(&o);
  o.fp32 = fp32;
  tw_errbuf err = {{0}};
  *st = NULL;
  int rc = tw_decoder_create(f->m, ctx->dev, &o, dec, &err);
  if (rc == TW_EUNSUPPORTED) return rc;
  CHECK_MSG(rc == TW_OK, "create: %s", err.msg);
  if (rc) return rc;
  rc = tw_decoder_state_create(*dec, ctx->s, max_seq, 0, st, &err);
  CHECK_MSG(rc == TW_OK, "state: %s", err.msg);
  if (!rc) rc = tw_decoder_set_audio(*st, f->enc, f->m->hp.n_audio_ctx);
  CHECK_MSG(rc == TW_OK, "set_audio: %s", tw_decoder_last_error(*st));
  return rc;
}

static void close_state(tw_decoder *dec, tw_decoder_state *st) {
  tw_decoder_state_destroy(st);
  tw_decoder_destroy(dec);
}

/* Logits of every position of tok[0 .. n): a prefill of `prefill` tokens,
 * then one step per token.  0 or the failing call's code. */
static int run_incremental(tw_decoder_state *st, const int32_t *tok, int n, int prefill,
                           float *logits, int n_vocab) {
  int rc = tw_decoder_decode(st, 1, prefill, tok, 0, 0, logits);
  for (int t = prefill; t < n && !rc; t++)
    rc = tw_decoder_decode(st, 1, 1, tok + t, t, 0, logits + (size_t)t * n_vocab);
  CHECK_MSG(rc == TW_OK, "%s", tw_decoder_last_error(st));
  return rc;
}

/* Prefill then steps to the whole context, against the fp64 reference. */
static void test_accuracy(const fixture *f, const char *device) {
  tw_test_stack *ctx = open_device(device);
  if (!ctx) return;
  const int L = f->m->hp.n_text_ctx, V = f->m->hp.n_vocab;
  double *ref = malloc((size_t)L * V * sizeof *ref);
  float *out = malloc((size_t)L * V * sizeof *out);
  CHECK(ref && out && tw_test_decoder_ref(f->m, f->enc, f->m->hp.n_audio_ctx, f->tok, L, ref) == 0);
  for (int fp32 = 1; fp32 >= 0 && ref && out; fp32--) {
    tw_decoder *dec = NULL;
    tw_decoder_state *st = NULL;
    int rc = open_state(f, ctx, fp32, 1, &dec, &st);
    if (rc == TW_EUNSUPPORTED) {
      printf("  %-6s fp32 skipped: device computes in bf16 only\n", device);
      continue;
    }
    if (!rc && !run_incremental(st, f->tok, L, 10, out, V)) {
      double max_abs, e = tw_reference_rel_error(out, (size_t)V, ref, (size_t)V, (size_t)L,
                                                 (size_t)V, &max_abs);
      const double bound = fp32 ? FP32_BOUND : BF16_BOUND;
      printf("  %-6s %s prefill 10 + 30 steps: rel frobenius %.3e (bound %.0e), max abs %.3e\n",
             device, fp32 ? "fp32" : "bf16", e, bound, max_abs);
      CHECK_MSG(e <= bound, "%s %s: %.3e > %.0e", device, fp32 ? "fp32" : "bf16", e, bound);
    }
    close_state(dec, st);
  }
  free(ref), free(out);
  close_device(ctx);
}

static double rel_f32(const float *x, const float *y, size_t count) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < count; i++) {
    num += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    den += (double)y[i] * y[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Steps over the cache give the logits of one pass over the whole prefix;
 * out_from picks the last rows of that pass. */
static void test_cache_vs_prefix(const fixture *f, tw_test_stack *ctx) {
  const int L = 30, V = f->m->hp.n_vocab;
  float *inc = malloc((size_t)L * V * sizeof *inc), *all = malloc((size_t)L * V * sizeof *all);
  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  CHECK(inc && all);
  if (inc && all && !open_state(f, ctx, 1, 1, &dec, &st) &&
      !run_incremental(st, f->tok, L, 5, inc, V)) {
    CHECK(tw_decoder_decode(st, 1, L, f->tok, 0, 0, all) == TW_OK);
    double e = rel_f32(inc, all, (size_t)L * V);
    printf("  cache: prefill 5 + 25 steps vs one 30-token pass: rel %.3e (bound %.0e)\n", e,
           SAME_BOUND);
    CHECK_MSG(e <= SAME_BOUND, "%.3e", e);
    CHECK(tw_decoder_decode(st, 1, L, f->tok, 0, 25, all) == TW_OK);
    e = rel_f32(inc + (size_t)25 * V, all, (size_t)5 * V);
    printf("  cache: out_from 25 gives the last 5 rows: rel %.3e\n", e);
    CHECK_MSG(e <= SAME_BOUND, "%.3e", e);
  }
  close_state(dec, st);
  free(inc), free(all);
}

enum { B = 3, P = 6, STEPS = 4 };

/* Prompts and step tokens of B sequences, all different. */
static void batch_tokens(int32_t prompt[B][P], int32_t step[STEPS][B], int n_vocab) {
  tw_rng r = {99};
  for (int b = 0; b < B; b++)
    for (int t = 0; t < P; t++) prompt[b][t] = tw_rng_range(&r, 0, n_vocab - 1);
  for (int s = 0; s < STEPS; s++)
    for (int b = 0; b < B; b++) step[s][b] = tw_rng_range(&r, 0, n_vocab - 1);
}

/* B sequences in one call per step (a batched prefill, then M = B steps)
 * against each sequence decoded alone. */
static void test_batched(const fixture *f, tw_test_stack *ctx) {
  const int V = f->m->hp.n_vocab;
  int32_t prompt[B][P], step[STEPS][B];
  batch_tokens(prompt, step, V);
  float *batched = malloc((size_t)STEPS * B * V * sizeof *batched);
  float *single = malloc((size_t)STEPS * B * V * sizeof *single);
  float *pre = malloc((size_t)B * V * sizeof *pre), *last = malloc((size_t)V * sizeof *last);
  tw_decoder *dec = NULL, *dec1 = NULL;
  tw_decoder_state *st = NULL, *st1 = NULL;
  CHECK(batched && single && pre && last);
  if (!batched || !single || !pre || !last || open_state(f, ctx, 1, B, &dec, &st) ||
      open_state(f, ctx, 1, 1, &dec1, &st1))
    goto done;
  /* batched: prefill of B x P tokens, logits of the last position of each */
  CHECK(tw_decoder_decode(st, B, P, &prompt[0][0], 0, P - 1, pre) == TW_OK);
  for (int s = 0; s < STEPS; s++)
    CHECK(tw_decoder_decode(st, B, 1, step[s], P + s, 0, batched + (size_t)s * B * V) == TW_OK);
  /* one sequence at a time */
  double e_pre = 0.0;
  for (int b = 0; b < B; b++) {
    CHECK(tw_decoder_decode(st1, 1, P, prompt[b], 0, P - 1, last) == TW_OK);
    double e = rel_f32(pre + (size_t)b * V, last, (size_t)V);
    e_pre = e > e_pre ? e : e_pre;
    for (int s = 0; s < STEPS; s++)
      CHECK(tw_decoder_decode(st1, 1, 1, &step[s][b], P + s, 0,
                              single + ((size_t)s * B + b) * V) == TW_OK);
  }
  double e = rel_f32(batched, single, (size_t)STEPS * B * V);
  printf("  batched: %d sequences per call vs one at a time: prefill rel %.3e, %d steps rel "
         "%.3e (bound %.0e)\n", B, e_pre, STEPS, e, SAME_BOUND);
  CHECK_MSG(e_pre <= SAME_BOUND && e <= SAME_BOUND, "%.3e %.3e", e_pre, e);
done:
  close_state(dec, st);
  close_state(dec1, st1);
  free(batched), free(single), free(pre), free(last);
}

/* Reference logits of the last token of seq[0 .. n), compared with got. */
static double ref_last_error(const fixture *f, const int32_t *seq, int n, const float *got) {
  const int V = f->m->hp.n_vocab;
  double *ref = malloc((size_t)n * V * sizeof *ref), max_abs, e = INFINITY;
  if (ref && tw_test_decoder_ref(f->m, f->enc, f->m->hp.n_audio_ctx, seq, n, ref) == 0)
    e = tw_reference_rel_error(got, (size_t)V, ref + (size_t)(n - 1) * V, (size_t)V, 1,
                               (size_t)V, &max_abs);
  free(ref);
  return e;
}

/* Reorders with duplicates (fan-out, copies) and a permutation (no copies),
 * each followed by a step checked against the fp64 reference of the
 * reordered histories. */
static void test_reorder(const fixture *f, tw_test_stack *ctx) {
  const int V = f->m->hp.n_vocab;
  int32_t hist[B][20];
  tw_rng r = {5};
  for (int b = 0; b < B; b++)
    for (int t = 0; t < 20; t++) hist[b][t] = tw_rng_range(&r, 0, V - 1);
  float *logits = malloc((size_t)B * P * V * sizeof *logits);
  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  if (!logits || open_state(f, ctx, 1, B, &dec, &st)) goto done;
  int32_t prompt[B][P];
  for (int b = 0; b < B; b++) memcpy(prompt[b], hist[b], sizeof prompt[b]);
  CHECK(tw_decoder_decode(st, B, P, &prompt[0][0], 0, 0, logits) == TW_OK);
  static const int orders[3][B] = {{2, 0, 0}, {1, 2, 0}, {1, 1, 1}};
  int n = P;
  for (int o = 0; o < 3; o++, n++) {
    int32_t moved[B][20], next[B];
    for (int b = 0; b < B; b++) memcpy(moved[b], hist[orders[o][b]], sizeof moved[b]);
    for (int b = 0; b < B; b++) moved[b][n] = next[b] = tw_rng_range(&r, 0, V - 1);
    memcpy(hist, moved, sizeof hist);
    int rc = tw_decoder_reorder(st, B, orders[o], n);
    CHECK_MSG(rc == TW_OK, "%s", tw_decoder_last_error(st));
    CHECK(tw_decoder_decode(st, B, 1, next, n, 0, logits) == TW_OK);
    double worst = 0.0;
    for (int b = 0; b < B; b++) {
      double e = ref_last_error(f, hist[b], n + 1, logits + (size_t)b * V);
      worst = e > worst ? e : worst;
    }
    printf("  reorder {%d, %d, %d} at %d positions, then a step: worst rel %.3e vs fp64\n",
           orders[o][0], orders[o][1], orders[o][2], n, worst);
    CHECK_MSG(worst <= FP32_BOUND, "order %d: %.3e", o, worst);
  }
  /* fewer sequences than the state holds: both continue sequence 1 */
  static const int two[2] = {1, 1};
  CHECK(tw_decoder_reorder(st, 2, two, n) == TW_OK);
  int32_t same[2] = {7, 7};
  hist[1][n] = 7;
  CHECK(tw_decoder_decode(st, 2, 1, same, n, 0, logits) == TW_OK);
  CHECK(memcmp(logits, logits + V, (size_t)V * sizeof *logits) == 0);
  CHECK(ref_last_error(f, hist[1], n + 1, logits) <= FP32_BOUND);
done:
  close_state(dec, st);
  free(logits);
}

/* Positions past n_text_ctx, bad token ids, bad calls: a code and a message
 * naming the problem, never a crash, and the state still works after. */
static void test_bad_calls(const fixture *f, tw_test_stack *ctx) {
  const int V = f->m->hp.n_vocab, C = f->m->hp.n_text_ctx;
  float *logits = malloc((size_t)C * V * sizeof *logits);
  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  tw_errbuf err = {{0}};
  CHECK(tw_decoder_create(f->m, ctx->dev, NULL, &dec, &err) == TW_OK);
  CHECK(tw_decoder_state_create(dec, ctx->s, 2, 0, &st, &err) == TW_OK);
  if (!logits || !st) goto done;
  int32_t bad[3] = {1, -1, 2};
  CHECK(tw_decoder_decode(st, 1, 1, bad, 0, 0, logits) == TW_EINVAL);
  CHECK(strstr(tw_decoder_last_error(st), "set_audio") != NULL);
  CHECK(tw_decoder_set_audio(st, f->enc, 5) == TW_EINVAL);
  CHECK(tw_decoder_set_audio(st, f->enc, f->m->hp.n_audio_ctx) == TW_OK);
  CHECK(tw_decoder_decode(st, 1, 3, bad, 0, 0, logits) == TW_EINVAL);
  CHECK_MSG(strstr(tw_decoder_last_error(st), "token -1 (sequence 0, index 1)"), "%s",
            tw_decoder_last_error(st));
  bad[1] = V;
  CHECK(tw_decoder_decode(st, 1, 3, bad, 0, 0, logits) == TW_EINVAL);
  CHECK(strstr(tw_decoder_last_error(st), "token 300") != NULL);
  /* the last position is n_text_ctx - 1 */
  CHECK(tw_decoder_decode(st, 1, 1, f->tok, C, 0, logits) == TW_EINVAL);
  CHECK_MSG(strstr(tw_decoder_last_error(st), "n_text_ctx = 40"), "%s", tw_decoder_last_error(st));
  CHECK(tw_decoder_decode(st, 1, 3, f->tok, C - 2, 0, logits) == TW_EINVAL);
  CHECK(tw_decoder_decode(st, 1, C + 1, f->tok, 0, 0, logits) == TW_EINVAL);
  CHECK(tw_decoder_decode(st, 1, C, f->tok, 0, C - 1, logits) == TW_OK);
  CHECK(tw_decoder_decode(st, 3, 1, f->tok, 0, 0, logits) == TW_EINVAL);   /* max_seq 2 */
  CHECK(tw_decoder_decode(st, 1, 2, f->tok, 0, 2, logits) == TW_EINVAL);   /* out_from */
  CHECK(tw_decoder_decode(st, 2, C, f->tok, 0, 0, logits) == TW_EINVAL);   /* rows */
  CHECK(strstr(tw_decoder_last_error(st), "rows") != NULL);
  CHECK(tw_decoder_decode(st, 1, 1, NULL, 0, 0, logits) == TW_EINVAL);
  const int src_bad[2] = {0, 2};
  CHECK(tw_decoder_reorder(st, 2, src_bad, 3) == TW_EINVAL);
  CHECK(strstr(tw_decoder_last_error(st), "src[1] = 2") != NULL);
  CHECK(tw_decoder_reorder(st, 2, NULL, 3) == TW_EINVAL);
  CHECK(tw_decoder_reorder(st, 1, src_bad, C + 1) == TW_EINVAL);
  printf("  bad calls: last message \"%s\"\n", tw_decoder_last_error(st));
  tw_decoder_state *other = (tw_decoder_state *)&other;
  CHECK(tw_decoder_state_create(dec, ctx->s, 0, 0, &other, &err) == TW_EINVAL && other == NULL);
  CHECK(tw_decoder_state_create(dec, ctx->s, 1, f->m->hp.n_audio_ctx + 1, &other, &err) == TW_EINVAL);
done:
  close_state(dec, st);
  free(logits);
}

/* Missing and misshapen decoder tensors; a model file without a decoder. */
static void test_bad_models(tw_whisper_model *m, tw_test_stack *ctx) {
  tw_decoder *dec = (tw_decoder *)&dec;
  tw_errbuf err = {{0}};
  CHECK(tw_decoder_create(NULL, ctx->dev, NULL, &dec, &err) == TW_EINVAL && dec == NULL);
  CHECK(tw_decoder_create(m, NULL, NULL, &dec, &err) == TW_EINVAL && strstr(err.msg, "device"));
  const tw_tensor *ck = m->dec_layers[1].cross_k_w;
  m->dec_layers[1].cross_k_w = NULL;
  CHECK(tw_decoder_create(m, ctx->dev, NULL, &dec, &err) == TW_EINVAL);
  CHECK_MSG(strstr(err.msg, "decoder.blocks.1.cross_attn.key.weight is missing"), "%s", err.msg);
  m->dec_layers[1].cross_k_w = ck;
  tw_tensor *fc = (tw_tensor *)m->dec_layers[0].mlp_0_w, saved = *fc;
  fc->ne[0] *= 2, fc->n_elements *= 2;
  CHECK(tw_decoder_create(m, ctx->dev, NULL, &dec, &err) == TW_ESHAPE);
  CHECK_MSG(strstr(err.msg, "decoder.blocks.0.mlp.0.weight"), "%s", err.msg);
  *fc = saved;

  tw_whisper_model *hdr = NULL;
  int rc = tw_whisper_model_load_ex(tw_test_data("for-tests-ggml-base.bin"), TW_LOAD_HEADER_ONLY,
                                    &hdr, &err);
  CHECK_MSG(rc == TW_OK, "%s", err.msg);
  if (rc == TW_OK) {
    CHECK(tw_decoder_create(hdr, ctx->dev, NULL, &dec, &err) == TW_EINVAL && dec == NULL);
    printf("  model without a decoder: \"%s\"\n", err.msg);
    CHECK(strstr(err.msg, "decoder.token_embedding.weight is missing") != NULL);
  }
  tw_whisper_model_free(hdr);
}

/* A synthetic model file with small custom hparams, read by the loader:
 * the decoder tensors it binds give the reference's logits. */
static void test_synth_file(tw_test_stack *ctx) {
  tw_whisper_hparams hp = {.n_vocab = 200, .n_audio_ctx = 16, .n_audio_state = 64,
                           .n_audio_head = 2, .n_audio_layer = 1, .n_text_ctx = 24,
                           .n_text_state = 64, .n_text_head = 2, .n_text_layer = 2,
                           .n_mels = 80, .ftype = 1};
  char path[] = "/tmp/tw_decoder_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  close(fd);
  tw_synth_options so = {.size = "custom", .seed = 3, .custom = &hp};
  tw_errbuf err = {{0}};
  tw_whisper_model *m = NULL;
  CHECK_MSG(tw_whisper_synth_write(&so, path, &err) == TW_OK, "%s", err.msg);
  CHECK_MSG(tw_whisper_model_load(path, &m, &err) == TW_OK, "%s", err.msg);
  fixture f = {.m = m, .enc = malloc((size_t)16 * 64 * sizeof(float))};
  float *out = malloc((size_t)12 * 200 * sizeof *out);
  double *ref = malloc((size_t)12 * 200 * sizeof *ref);
  tw_rng r = {8};
  if (m && f.enc && out && ref) {
    tw_fill_uniform(&r, f.enc, (size_t)16 * 64, -1.5f, 1.5f);
    for (int t = 0; t < 12; t++) f.tok[t] = tw_rng_range(&r, 0, 199);
    CHECK(m->dec_tok_emb && m->dec_layers[1].cross_out_b && m->dec_ln_b);
    tw_decoder *dec = NULL;
    tw_decoder_state *st = NULL;
    if (!open_state(&f, ctx, 1, 1, &dec, &st) && !run_incremental(st, f.tok, 12, 4, out, 200) &&
        tw_test_decoder_ref(m, f.enc, 16, f.tok, 12, ref) == 0) {
      double max_abs, e = tw_reference_rel_error(out, 200, ref, 200, 12, 200, &max_abs);
      printf("  synthetic file (loader-bound tensors): rel %.3e (bound %.0e)\n", e, FP32_BOUND);
      CHECK_MSG(e <= FP32_BOUND, "%.3e", e);
    }
    close_state(dec, st);
  }
  free(f.enc), free(out), free(ref);
  tw_whisper_model_free(m);
  unlink(path);
}

/* Every allocation of create and state create failed in turn: ENOMEM and
 * no leak (ASan); decode itself allocates nothing of its own. */
static void test_oom(const fixture *f, tw_test_stack *ctx) {
  int n, rc = TW_ENOMEM, wrong = 0;
  for (n = 1; n < 2000 && rc != TW_OK; n++) {
    tw_decoder *dec = NULL;
    tw_decoder_state *st = NULL;
    tw_mem_fail_after(n);
    rc = tw_decoder_create(f->m, ctx->dev, NULL, &dec, NULL);
    if (rc == TW_OK) rc = tw_decoder_state_create(dec, ctx->s, 2, 0, &st, NULL);
    tw_mem_fail_after(0);
    if (rc != TW_OK && (rc != TW_ENOMEM || st != NULL)) wrong++;
    close_state(dec, st);
  }
  printf("  create with allocation n failing, n = 1..%d: %d wrong results\n", n - 1, wrong);
  CHECK(rc == TW_OK && wrong == 0);

  tw_decoder *dec = NULL;
  tw_decoder_state *st = NULL;
  float *logits = malloc((size_t)2 * f->m->hp.n_vocab * sizeof *logits);
  if (logits && !open_state(f, ctx, 0, 2, &dec, &st)) {
    CHECK(tw_decoder_decode(st, 1, 8, f->tok, 0, 7, logits) == TW_OK); /* engine warm */
    CHECK(tw_decoder_decode(st, 2, 1, f->tok, 8, 0, logits) == TW_OK);
    const int src[2] = {1, 0};
    tw_mem_fail_after(1);
    rc = tw_decoder_reorder(st, 2, src, 9);
    if (rc == TW_OK) rc = tw_decoder_decode(st, 2, 1, f->tok, 9, 0, logits);
    tw_mem_fail_after(0);
    const char *msg = tw_decoder_last_error(st);
    CHECK_MSG(rc == TW_OK || strstr(msg, "(M ") || strstr(msg, "refilling"), "%s", msg);
    printf("  reorder + step with every allocation failing: %s\n", rc ? msg : "ok");
  }
  close_state(dec, st);
  free(logits);
}

int main(void) {
  tw_whisper_model *m = tw_test_model_create(&SPEC);
  CHECK(m != NULL);
  fixture f = {.m = m, .enc = malloc((size_t)SPEC.n_audio_ctx * SPEC.n_state * sizeof(float))};
  if (!m || !f.enc) return tw_test_finish("test_decoder");
  tw_rng r = {21};
  tw_fill_uniform(&r, f.enc, (size_t)SPEC.n_audio_ctx * SPEC.n_state, -1.5f, 1.5f);
  for (int t = 0; t < SPEC.n_text_ctx; t++) f.tok[t] = tw_rng_range(&r, 0, SPEC.n_vocab - 1);

  /* cpu:attention=planned runs the decoder's attention as planned products
   * (the fused step and cross-attention kernels are the default) */
  static const char *const devices[] = {"cpu", "cpu:attention=planned", "ref", "fixed", "emu",
                                        "opencl", NULL};
  for (const char *const *d = devices; *d; d++) test_accuracy(&f, *d);
  /* the fp32 properties on the fastest fp32 device there is */
  tw_test_stack *ctx = open_device("cpu");
  if (!ctx) ctx = open_device("ref");
  if (ctx) {
    test_cache_vs_prefix(&f, ctx);
    test_batched(&f, ctx);
    test_reorder(&f, ctx);
    test_bad_calls(&f, ctx);
    test_bad_models(m, ctx);
    test_synth_file(ctx);
    test_oom(&f, ctx);
    close_device(ctx);
  }
  free(f.enc);
  tw_test_model_destroy(m);
  return tw_test_finish("test_decoder");
}

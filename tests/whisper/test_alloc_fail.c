/* Every allocation can fail: for n = 1, 2, ... the n-th allocation from
 * model load through state creation, log-mel and encode fails.  Each failure
 * must come back as a clean error (a negative status and a message), leak
 * nothing (LeakSanitizer checks at exit) and leave a shared model usable:
 * afterwards a fresh state on it encodes bit-identically to the output
 * computed before any failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "tilewhisper/tilewhisper.h"
#include "tw_test.h"

#define N_CTX 16
#define MAX_N 20000

static tw_state_options state_opts(void) {
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = 2;
  so.n_audio_ctx = N_CTX;
  return so;
}

/* load -> state -> pcm -> encode on a model of its own; returns the first
 * failing status (0 if the whole chain ran). */
static int chain_own_model(const char *path, const float *pcm, size_t n_pcm) {
  tw_model *m = NULL;
  tw_state *st = NULL;
  tw_state_options so = state_opts();
  int rc = tw_model_load_file(path, NULL, &m);
  if (!rc) rc = tw_state_create(m, &so, &st);
  if (!rc) rc = tw_state_set_pcm(st, pcm, n_pcm, NULL);
  if (!rc) rc = tw_encode_window(st, 0, NULL, NULL);
  tw_state_destroy(st);
  tw_model_destroy(m);
  return rc;
}

/* state -> pcm -> encode on the shared model. */
static int chain_shared(tw_model *shared, const float *pcm, size_t n_pcm) {
  tw_state *st = NULL;
  tw_state_options so = state_opts();
  int rc = tw_state_create(shared, &so, &st);
  if (!rc) rc = tw_state_set_pcm(st, pcm, n_pcm, NULL);
  if (!rc) rc = tw_encode_window(st, 0, NULL, NULL);
  tw_state_destroy(st);
  return rc;
}

/* A fresh state on the shared model encodes as before. */
static int shared_still_works(tw_model *shared, const float *pcm, size_t n_pcm,
                              const float *ref, size_t n_out) {
  tw_state *st = NULL;
  tw_state_options so = state_opts();
  const float *out = NULL;
  int rc = tw_state_create(shared, &so, &st);
  if (!rc) rc = tw_state_set_pcm(st, pcm, n_pcm, NULL);
  if (!rc) rc = tw_encode_window(st, 0, &out, NULL);
  int same = !rc && memcmp(out, ref, n_out * sizeof *out) == 0;
  tw_state_destroy(st);
  return same;
}

/* Fails allocation n for n = 1.. until the chain completes; returns how
 * many failures were injected. */
static int sweep(const char *what, int (*run)(void *), void *arg, int (*after)(void *)) {
  int n, tolerated = 0;
  for (n = 1; n < MAX_N; n++) {
    tw_mem_fail_after(n);
    int rc = run(arg);
    int fired = tw_mem_fail_pending() == 0;
    tw_mem_fail_after(0);
    if (!fired) {
      CHECK_MSG(rc == TW_OK, "%s: no failure injected, yet status %d: %s", what, rc, tw_last_error());
      break; /* the chain makes fewer than n allocations */
    }
    if (rc == TW_OK) {
      tolerated++; /* a failure the library works around (e.g. a skipped measurement) */
    } else {
      CHECK_MSG(rc < 0 && tw_last_error()[0] != '\0', "%s: allocation %d: status %d, message '%s'",
                what, n, rc, tw_last_error());
    }
    if (after) CHECK_MSG(after(arg), "%s: after failing allocation %d the shared model is broken", what, n);
  }
  CHECK_MSG(n > 10 && n < MAX_N, "%s: %d allocations", what, n - 1);
  printf("  %-34s %d allocations, each failed once (%d worked around): clean errors, "
         "nothing leaked\n", what, n - 1, tolerated);
  return n - 1;
}

typedef struct ctx {
  const char *path;
  tw_model *shared;
  float *pcm;
  size_t n_pcm;
  const float *ref;
  size_t n_out;
} ctx;

static int run_own(void *p) {
  ctx *c = p;
  return chain_own_model(c->path, c->pcm, c->n_pcm);
}
static int run_shared(void *p) {
  ctx *c = p;
  return chain_shared(c->shared, c->pcm, c->n_pcm);
}
static int check_shared(void *p) {
  ctx *c = p;
  return shared_still_works(c->shared, c->pcm, c->n_pcm, c->ref, c->n_out);
}

int main(void) {
  char path[] = "/tmp/tw-allocfail-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return tw_test_finish("test_alloc_fail");
  close(fd);
  tw_hparams hp = {.n_vocab = 51865, .n_audio_ctx = 1500, .n_audio_state = 64,
                   .n_audio_head = 2, .n_audio_layer = 2, .n_text_ctx = 448,
                   .n_text_state = 64, .n_text_head = 2, .n_text_layer = 1, .n_mels = 80};
  tw_synth_options so = {.custom = &hp, .seed = 3,
                         .header_path = tw_test_data("for-tests-ggml-base.bin")};
  ctx c = {.path = path, .n_pcm = 16000};
  c.pcm = malloc(c.n_pcm * sizeof *c.pcm);
  tw_rng r = {5};
  tw_fill_uniform(&r, c.pcm, c.n_pcm, -0.5f, 0.5f);
  int rc = tw_synth_model_write(&so, path);
  if (!rc) rc = tw_model_load_file(path, NULL, &c.shared);
  CHECK_MSG(rc == TW_OK, "setup: %s", tw_last_error());
  float *ref = NULL;
  if (!rc) {
    /* the reference output, before any failure */
    tw_state *st = NULL;
    tw_state_options sopt = state_opts();
    const float *out = NULL;
    c.n_out = (size_t)N_CTX * (size_t)hp.n_audio_state;
    rc = tw_state_create(c.shared, &sopt, &st);
    if (!rc) rc = tw_state_set_pcm(st, c.pcm, c.n_pcm, NULL);
    if (!rc) rc = tw_encode_window(st, 0, &out, NULL);
    CHECK_MSG(rc == TW_OK, "reference: %s", tw_last_error());
    if (!rc && (ref = malloc(c.n_out * sizeof *ref))) memcpy(ref, out, c.n_out * sizeof *ref);
    c.ref = ref;
    tw_state_destroy(st);
  }
  if (!rc && ref) {
    sweep("load, state, log-mel, encode", run_own, &c, NULL);
    sweep("state, log-mel, encode (shared)", run_shared, &c, check_shared);
  }
  free(ref);
  free(c.pcm);
  tw_model_destroy(c.shared);
  unlink(path);
  return tw_test_finish("test_alloc_fail");
}

/* N states over one shared model: four threads, each with its own state,
 * encode four different inputs at the same time; every output must be
 * bit-identical to the same input encoded alone.  On the cpu device (streams
 * run concurrently) and on `fixed` (a queue device: streams take turns on its
 * one queue).  `make tsan` runs this test under ThreadSanitizer. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tilewhisper/tilewhisper.h"
#include "tw_test.h"
#include "tw_test_stack.h"

#define N_THREADS 4
#define N_CTX 48 /* encoder positions: 96 mel frames per input */
#define REPEATS 3

typedef struct job {
  tw_state *state;
  const float *mel;
  float *out;
  size_t n_out;
  int rc, mismatches;
  const float *expect;
} job;

static void *worker(void *arg) {
  job *j = arg;
  for (int r = 0; r < REPEATS && !j->rc; r++) {
    const float *out = NULL;
    j->rc = tw_encode(j->state, j->mel, &out, NULL);
    if (!j->rc && memcmp(out, j->expect, j->n_out * sizeof *out) != 0) j->mismatches++;
  }
  return NULL;
}

static void run_device(const char *path, const char *device, float *mels[N_THREADS]) {
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = device;
  mo.threads = 1;
  tw_model *model = NULL;
  int rc = tw_model_load_file(path, &mo, &model);
  CHECK_MSG(rc == TW_OK, "%s: load: %s", device, tw_last_error());
  if (rc) return;
  tw_model_info info;
  tw_model_get_info(model, &info);
  const size_t n_out = (size_t)N_CTX * (size_t)info.n_audio_state;
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = 1;
  so.n_audio_ctx = N_CTX;
  tw_state *states[N_THREADS] = {0};
  float *alone[N_THREADS] = {0};
  for (int i = 0; i < N_THREADS; i++) {
    rc = tw_state_create(model, &so, &states[i]);
    CHECK_MSG(rc == TW_OK, "%s: state %d: %s", device, i, tw_last_error());
    if (rc) goto out;
  }
  /* each input alone, one after the other, on state 0 */
  for (int i = 0; i < N_THREADS; i++) {
    const float *out = NULL;
    alone[i] = malloc(n_out * sizeof *alone[i]);
    rc = tw_encode(states[0], mels[i], &out, NULL);
    CHECK_MSG(rc == TW_OK && alone[i], "%s: alone %d: %s", device, i, tw_state_last_error(states[0]));
    if (rc || !alone[i]) goto out;
    memcpy(alone[i], out, n_out * sizeof *out);
  }
  CHECK(memcmp(alone[0], alone[1], n_out * sizeof(float)) != 0); /* inputs differ */
  pthread_t tid[N_THREADS];
  job jobs[N_THREADS];
  for (int i = 0; i < N_THREADS; i++) {
    jobs[i] = (job){.state = states[i], .mel = mels[i], .n_out = n_out, .expect = alone[i]};
    CHECK(pthread_create(&tid[i], NULL, worker, &jobs[i]) == 0);
  }
  for (int i = 0; i < N_THREADS; i++) {
    pthread_join(tid[i], NULL);
    CHECK_MSG(jobs[i].rc == TW_OK, "%s: thread %d: %s", device, i,
              tw_state_last_error(states[i]));
    CHECK_MSG(jobs[i].mismatches == 0, "%s: thread %d: %d of %d runs differ from the input alone",
              device, i, jobs[i].mismatches, REPEATS);
  }
  printf("  %-6s %d states x %d runs, each bit-identical to its input alone\n", device,
         N_THREADS, REPEATS);
out:
  for (int i = 0; i < N_THREADS; i++) {
    tw_state_destroy(states[i]);
    free(alone[i]);
  }
  tw_model_destroy(model);
}

int main(void) {
  char path[] = "/tmp/tw-concurrency-XXXXXX";
  tw_hparams hp = {.n_vocab = 51865, .n_audio_ctx = 1500, .n_audio_state = 128,
                   .n_audio_head = 4, .n_audio_layer = 2, .n_text_ctx = 448,
                   .n_text_state = 128, .n_text_head = 4, .n_text_layer = 1, .n_mels = 80};
  int rc = tw_test_synth_file(&hp, 7, path);
  float *mels[N_THREADS];
  for (int i = 0; i < N_THREADS; i++) {
    mels[i] = malloc(80 * 2 * N_CTX * sizeof(float));
    tw_rng r = {100 + (uint64_t)i};
    tw_fill_uniform(&r, mels[i], 80 * 2 * N_CTX, -1.0f, 1.5f);
  }
  if (!rc) {
    run_device(path, "cpu", mels);
    run_device(path, "fixed", mels);
  }
  for (int i = 0; i < N_THREADS; i++) free(mels[i]);
  unlink(path);
  return tw_test_finish("test_concurrency");
}

/* A transcription called from a thread with a small stack (STACK_KIB): the
 * kernels keep their large buffers (attention blocks, cross-attention
 * scores) in the stream's per-thread work areas, not on the calling
 * thread's stack, so this must run to the end instead of overflowing into
 * the guard page.  Heads of 64 on 1500 positions take the fused attention
 * paths of this CPU (the AMX one where it has the tiles); greedy and
 * beam search both run the decoder's fused cross-attention.  The state has
 * two threads: the calling one (small stack) takes part in every task. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tilewhisper/tilewhisper.h"
#include "tw_test.h"
#include "tw_test_stack.h"

/* The sanitizers' redzones and bookkeeping make every frame larger, so the
 * test build gets more room; both are far below the 8 MiB a thread has by
 * default and the ~300 KiB the largest kernel frames used to need. */
#if defined(__SANITIZE_ADDRESS__)
#define STACK_KIB 192
#else
#define STACK_KIB 96
#endif

typedef struct job {
  tw_state *state;
  const float *pcm;
  size_t n;
  int beam;
  int rc;
  int segments;
} job;

static void *run(void *arg) {
  job *j = arg;
  tw_transcribe_options o;
  tw_transcribe_options_init(&o);
  o.beam_size = j->beam;
  o.temperature_increment = 0; /* one decode per window: random weights fail every test */
  o.language = "en";
  tw_transcript t;
  memset(&t, 0, sizeof t);
  j->rc = tw_transcribe(j->state, j->pcm, j->n, &o, &t);
  j->segments = (int)t.n_segments;
  tw_transcript_clear(&t);
  return NULL;
}

int main(void) {
  char path[] = "/tmp/tw-small-stack-XXXXXX";
  tw_hparams hp = {.n_vocab = 51865, .n_audio_ctx = 1500, .n_audio_state = 128,
                   .n_audio_head = 2, .n_audio_layer = 1, .n_text_ctx = 448,
                   .n_text_state = 128, .n_text_head = 2, .n_text_layer = 1, .n_mels = 80};
  int rc = tw_test_synth_file(&hp, 11, path);
  tw_model *model = NULL;
  if (!rc) {
    tw_model_options mo;
    tw_model_options_init(&mo);
    mo.threads = 2;
    rc = tw_model_load_file(path, &mo, &model);
    CHECK_MSG(rc == TW_OK, "load: %s", tw_last_error());
  }
  tw_state *state = NULL;
  if (!rc) {
    tw_state_options sto;
    tw_state_options_init(&sto);
    sto.threads = 2;
    rc = tw_state_create(model, &sto, &state);
    CHECK_MSG(rc == TW_OK, "state: %s", tw_last_error());
  }
  enum { N = 16000 * 4 };
  float *pcm = malloc(N * sizeof *pcm);
  CHECK(pcm != NULL);
  for (size_t i = 0; i < N && pcm; i++)
    pcm[i] = 0.3f * sinf(2.0f * 3.14159265f * 220.0f * (float)i / 16000.0f) *
             (1.0f + 0.5f * sinf((float)i / 3000.0f));
  for (int beam = 0; beam <= 5 && !rc && pcm; beam += 5) {
    job j = {.state = state, .pcm = pcm, .n = N, .beam = beam};
    pthread_attr_t attr;
    pthread_t tid;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, (size_t)STACK_KIB * 1024) == 0);
    int created = pthread_create(&tid, &attr, run, &j) == 0;
    CHECK(created);
    if (created) pthread_join(tid, NULL);
    pthread_attr_destroy(&attr);
    CHECK_MSG(created && j.rc == TW_OK, "beam %d on a %d KiB stack: %s", beam, STACK_KIB,
              tw_state_last_error(state));
    printf("  beam %d on a %d KiB stack: %d segments\n", beam, STACK_KIB, j.segments);
  }
  free(pcm);
  tw_state_destroy(state);
  tw_model_destroy(model);
  unlink(path);
  return tw_test_finish("test_small_stack");
}

/* Thread pool: every task runs exactly once, on the thread the static
 * assignment names, across many runs and pool sizes. */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/threadpool.h"
#include "tw_test.h"

enum { TASKS = 1000 };

typedef struct job {
  atomic_int hits[TASKS];
  int thread_of[TASKS];
  int n_threads;
} job;

static void work(void *arg, size_t task, int thread) {
  job *j = arg;
  atomic_fetch_add(&j->hits[task], 1);
  j->thread_of[task] = thread;
}

int main(void) {
  for (int n = 1; n <= 4; n++) {
    tw_threadpool *pool;
    CHECK(tw_threadpool_create(n, &pool) == 0);
    CHECK(tw_threadpool_size(pool) == n);
    job *j = calloc(1, sizeof *j);
    for (int run = 0; run < 200; run++) {
      for (int t = 0; t < TASKS; t++) atomic_store(&j->hits[t], 0);
      size_t tasks = (size_t)(run % 17 == 0 ? 1 : TASKS - run);
      tw_threadpool_run(pool, tasks, work, j);
      int ok = 1;
      for (size_t t = 0; t < TASKS; t++) {
        int want = t < tasks ? 1 : 0;
        if (atomic_load(&j->hits[t]) != want) ok = 0;
        if (t < tasks && tasks > 1 && j->thread_of[t] != (int)(t % (size_t)n)) ok = 0;
      }
      CHECK_MSG(ok, "pool of %d, run %d", n, run);
    }
    tw_threadpool_run(pool, 0, work, j); /* no tasks: returns at once */
    free(j);
    tw_threadpool_destroy(pool);
  }
  tw_threadpool *bad;
  CHECK(tw_threadpool_create(0, &bad) != 0 && bad == NULL);
  tw_threadpool_destroy(NULL);
  return tw_test_finish("test_threadpool");
}

#define _GNU_SOURCE /* sysconf */
#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#include "tilewhisper/status.h"
#include "core/mem.h"

/* A job is published by bumping `generation`; workers and the caller first
 * spin on the atomics for up to SPIN_NS and only then sleep on a condition
 * variable.  Why: the decoder makes ~150 small engine calls and as many
 * element-wise ops per step, microseconds apart, and a futex wake-up and
 * wait per call cost 15-30 us on the virtual machines measured (bench
 * --decoder); spinning keeps a worker that is about to get more work awake.
 * After SPIN_NS without work a worker sleeps, so an idle pool costs nothing.
 * Static task assignment keeps results reproducible. */
#define SPIN_NS 100000L

struct tw_threadpool {
  int n_threads;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  atomic_ulong generation;
  atomic_int pending; /* workers still running the current job */
  atomic_int stopping;
  atomic_long spin_ns; /* current spin budget, <= SPIN_NS */
  /* written by the caller before the release bump of `generation` */
  size_t n_tasks;
  tw_task_fn fn;
  void *arg;
};

typedef struct worker_arg {
  tw_threadpool *pool;
  int index;
} worker_arg;

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins until pred(p, v) holds or the spin budget passes; returns whether
 * it held.  Workers waiting for a job spin SPIN_NS.  The caller waiting for
 * the workers (adapt) uses the pool's budget, which halves when a spin runs
 * out (a worker was descheduled: a loaded machine, where spinning only
 * steals a core) and grows back as spins succeed.  Measured on the 2-core
 * EPYC VM under a load of ~3, decoder steps B = 1 (mean of 660): no spin
 * 5.4-8.2 ms, fixed 100 us 3.8-10.3 ms, this 3.0-3.9 ms. */
static int spin_until(tw_threadpool *p, int (*pred)(tw_threadpool *, unsigned long),
                      unsigned long v, int adapt) {
  long start = 0, budget = adapt ? atomic_load_explicit(&p->spin_ns, memory_order_relaxed) : SPIN_NS;
  for (unsigned i = 0;; i++) {
    if (pred(p, v)) {
      if (adapt && budget < SPIN_NS)
        atomic_store_explicit(&p->spin_ns, budget + budget / 8 + 500, memory_order_relaxed);
      return 1;
    }
    if ((i & 63) == 63) {
      long t = now_ns();
      if (!start) {
        start = t;
      } else if (t - start > budget) {
        if (adapt) atomic_store_explicit(&p->spin_ns, budget / 2, memory_order_relaxed);
        return 0;
      }
    }
    cpu_relax();
  }
}

static int job_posted(tw_threadpool *p, unsigned long seen) {
  return atomic_load_explicit(&p->generation, memory_order_acquire) != seen ||
         atomic_load_explicit(&p->stopping, memory_order_acquire);
}

static int job_done(tw_threadpool *p, unsigned long unused) {
  (void)unused;
  return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

static void run_share(tw_threadpool *p, int index) {
  for (size_t t = (size_t)index; t < p->n_tasks; t += (size_t)p->n_threads) p->fn(p->arg, t, index);
}

static void *worker_main(void *raw) {
  worker_arg wa = *(worker_arg *)raw;
  tw_free(raw);
  tw_threadpool *p = wa.pool;
  unsigned long seen = 0;
  for (;;) {
    if (!spin_until(p, job_posted, seen, 0)) {
      pthread_mutex_lock(&p->lock);
      while (!job_posted(p, seen)) pthread_cond_wait(&p->wake, &p->lock);
      pthread_mutex_unlock(&p->lock);
    }
    if (atomic_load_explicit(&p->stopping, memory_order_acquire)) break;
    seen = atomic_load_explicit(&p->generation, memory_order_acquire);
    run_share(p, wa.index);
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      /* the caller may be asleep: wake it under the lock it waits with */
      pthread_mutex_lock(&p->lock);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->lock);
    }
  }
  return NULL;
}

int tw_threadpool_create(int n_threads, tw_threadpool **out) {
  *out = NULL;
  if (n_threads < 1 || n_threads > 1024) return TW_EINVAL;
  tw_threadpool *p = tw_calloc_aligned(1, sizeof *p);
  if (!p) return TW_ENOMEM;
  p->n_threads = 1;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stopping, 0);
  atomic_init(&p->spin_ns, SPIN_NS);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (n_threads > 1) {
    p->threads = tw_calloc_aligned((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
      tw_threadpool_destroy(p);
      return TW_ENOMEM;
    }
  }
  for (int i = 1; i < n_threads; i++) {
    worker_arg *wa = tw_malloc_aligned(sizeof *wa);
    if (!wa) {
      tw_threadpool_destroy(p);
      return TW_ENOMEM;
    }
    wa->pool = p;
    wa->index = i;
    if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
      tw_free(wa);
      tw_threadpool_destroy(p);
      return TW_ENOMEM;
    }
    p->n_threads = i + 1;
  }
  *out = p;
  return TW_OK;
}

void tw_threadpool_destroy(tw_threadpool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  atomic_store_explicit(&p->stopping, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  tw_free(p->threads);
  tw_free(p);
}

int tw_threadpool_size(const tw_threadpool *p) { return p ? p->n_threads : 1; }

void tw_threadpool_run(tw_threadpool *p, size_t n_tasks, tw_task_fn fn, void *arg) {
  if (!p || p->n_threads == 1 || n_tasks <= 1) {
    for (size_t t = 0; t < n_tasks; t++) fn(arg, t, 0);
    return;
  }
  p->n_tasks = n_tasks;
  p->fn = fn;
  p->arg = arg;
  atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  /* sleeping workers check `generation` under the lock before waiting */
  pthread_mutex_lock(&p->lock);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_share(p, 0);
  if (!spin_until(p, job_done, 0, 1)) {
    pthread_mutex_lock(&p->lock);
    while (!job_done(p, 0)) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
  }
}

/* ---- contiguous row ranges ---- */

typedef struct rows_job {
  tw_rows_fn fn;
  void *arg;
  size_t rows, n_tasks;
} rows_job;

static void rows_task(void *arg, size_t task, int thread) {
  (void)thread;
  const rows_job *j = arg;
  size_t r0 = j->rows * task / j->n_tasks, r1 = j->rows * (task + 1) / j->n_tasks;
  if (r1 > r0) j->fn(j->arg, r0, r1, task);
}

void tw_parallel_rows(tw_threadpool *pool, size_t rows, tw_rows_fn fn, void *arg) {
  size_t n_threads = (size_t)tw_threadpool_size(pool);
  rows_job j = {fn, arg, rows, n_threads < rows ? n_threads : rows};
  if (j.n_tasks <= 1) {
    if (rows) fn(arg, 0, rows, 0);
    return;
  }
  tw_threadpool_run(pool, j.n_tasks, rows_task, &j);
}

int tw_default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 && n < 1024 ? (int)n : 1;
}

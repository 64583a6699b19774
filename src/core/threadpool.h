/* A fixed pool of worker threads, created once per context.
 *
 * tw_threadpool_run(pool, n_tasks, fn, arg) calls fn(arg, task, thread) for
 * every task in [0, n_tasks) spread over the pool's threads (the calling
 * thread takes part as thread 0) and returns when all are done.  Tasks are
 * handed out statically (task t goes to thread t % n_threads) so results that
 * depend on the split are reproducible run to run. */
#ifndef TW_CORE_THREADPOOL_H
#define TW_CORE_THREADPOOL_H

#include <stddef.h>

typedef struct tw_threadpool tw_threadpool;

typedef void (*tw_task_fn)(void *arg, size_t task, int thread);

/* n_threads >= 1 (1 means no extra threads). Returns 0 or a tw_status. */
int tw_threadpool_create(int n_threads, tw_threadpool **out);
void tw_threadpool_destroy(tw_threadpool *pool); /* NULL is a no-op */
int tw_threadpool_size(const tw_threadpool *pool);
/* Online cores (1 when unknown): the default thread count. */
int tw_default_threads(void);
void tw_threadpool_run(tw_threadpool *pool, size_t n_tasks, tw_task_fn fn, void *arg);

/* Calls fn(arg, r0, r1, task) over disjoint row ranges covering [0, rows),
 * one contiguous range per pool thread; task < tw_threadpool_size(pool)
 * identifies the range (for per-task scratch). */
typedef void (*tw_rows_fn)(void *arg, size_t r0, size_t r1, size_t task);
void tw_parallel_rows(tw_threadpool *pool, size_t rows, tw_rows_fn fn, void *arg);

#endif

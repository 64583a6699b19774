/* The emu device's queue: host-side submit/wait and the device thread. */
#include "device/emu/emu_queue.h"

#include <stdlib.h>
#include <string.h>

#include "core/timing.h"
#include "kernels/tile.h"
#include "core/mem.h"

static void *dmem(const tw_dbuf *b, size_t off) { return (char *)b->impl + off; }

/* Runs one command on device memory; adds measured and modeled time. */
static int run_cmd(emu_state *st, const tw_cmd *cmd, tw_exec_times *t) {
  int rc = tw_cmd_validate(&st->shadow, cmd);
  if (rc) return rc;
  const tw_emu_profile *p = &st->profile;
  double t0 = tw_now();
  switch (cmd->op) {
    case TW_CMD_WRITE:
      memcpy(dmem(cmd->buf, cmd->offset), cmd->src, cmd->bytes);
      t->transfer_s += tw_now() - t0;
      t->modeled_s += tw_emu_profile_model(p, 0, 0, cmd->bytes, 0, 0);
      break;
    case TW_CMD_READ:
      memcpy(cmd->dst, dmem(cmd->buf, cmd->offset), cmd->bytes);
      t->transfer_s += tw_now() - t0;
      t->modeled_s += tw_emu_profile_model(p, 0, 0, 0, cmd->bytes, 0);
      break;
    case TW_CMD_KERNEL: {
      const tw_kernel_info *ki = &st->shadow.kernels[cmd->kernel];
      const tw_bf16 *a = dmem(cmd->a, cmd->a_off), *b = dmem(cmd->b, cmd->b_off);
      if (ki->flags & TW_KERNEL_OUT_BF16)
        tw_tile_gemm_bf16_out_bf16(cmd->m, cmd->k, cmd->n, a, cmd->lda, b, cmd->ldb,
                                   dmem(cmd->c, cmd->c_off), cmd->ldc, cmd->accumulate);
      else
        tw_tile_gemm_bf16(cmd->m, cmd->k, cmd->n, a, cmd->lda, b, cmd->ldb,
                          dmem(cmd->c, cmd->c_off), cmd->ldc, cmd->accumulate);
      tw_delay(st->call_s);
      t->compute_s += tw_now() - t0;
      double flops = 2.0 * cmd->m * (double)cmd->k * cmd->n;
      t->modeled_s += tw_emu_profile_model(p, 1, 0, 0, 0, flops);
      break;
    }
  }
  return TW_OK;
}

/* Runs a whole submission; stops at its first failing command. */
static void run_submission(emu_state *st, const emu_sub *s) {
  tw_exec_times t = {0, 0, tw_emu_profile_model(&st->profile, 0, 1, 0, 0, 0)};
  int rc = TW_OK;
  size_t i;
  for (i = 0; i < s->n && !rc; i++) rc = run_cmd(st, &s->cmds[i], &t);
  pthread_mutex_lock(&st->mu);
  st->pending.transfer_s += t.transfer_s;
  st->pending.compute_s += t.compute_s;
  st->pending.modeled_s += t.modeled_s;
  if (rc && !st->err_code) {
    st->err_code = rc;
    st->err_fence = s->fence;
    st->err_cmd = i; /* 1-based: the loop stopped past the failing command */
    memcpy(st->err_msg, st->shadow.err.msg, sizeof st->err_msg);
  }
  st->completed = s->fence;
  pthread_cond_broadcast(&st->done);
  pthread_mutex_unlock(&st->mu);
}

static void *device_thread(void *arg) {
  emu_state *st = arg;
  pthread_mutex_lock(&st->mu);
  for (;;) {
    while (!st->head && !st->stop) pthread_cond_wait(&st->work, &st->mu);
    if (st->stop) break;
    emu_sub *s = st->head;
    st->head = s->next;
    if (!st->head) st->tail = NULL;
    pthread_mutex_unlock(&st->mu);
    run_submission(st, s);
    tw_free(s);
    pthread_mutex_lock(&st->mu);
  }
  pthread_mutex_unlock(&st->mu);
  return NULL;
}

int emu_queue_start(emu_state *st) {
  if (pthread_mutex_init(&st->mu, NULL)) return TW_EDEVICE;
  if (pthread_cond_init(&st->work, NULL)) {
    pthread_mutex_destroy(&st->mu);
    return TW_EDEVICE;
  }
  if (pthread_cond_init(&st->done, NULL)) {
    pthread_cond_destroy(&st->work);
    pthread_mutex_destroy(&st->mu);
    return TW_EDEVICE;
  }
  if (pthread_create(&st->thread, NULL, device_thread, st)) {
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->work);
    pthread_mutex_destroy(&st->mu);
    return TW_EDEVICE;
  }
  st->started = 1;
  return TW_OK;
}

void emu_queue_destroy(emu_state *st) {
  if (!st) return;
  if (st->started) {
    pthread_mutex_lock(&st->mu);
    st->stop = 1;
    emu_sub *s = st->head; /* cancel what has not started */
    st->head = st->tail = NULL;
    pthread_cond_broadcast(&st->work);
    pthread_mutex_unlock(&st->mu);
    while (s) {
      emu_sub *next = s->next;
      tw_free(s);
      s = next;
    }
    pthread_join(st->thread, NULL); /* the running submission finishes first */
    while (st->buffers) {
      emu_buf *b = st->buffers;
      st->buffers = b->next;
      tw_free(b->dbuf.impl);
      tw_free(b);
    }
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->work);
    pthread_mutex_destroy(&st->mu);
  }
  tw_free(st);
}

int emu_queue_submit(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence) {
  emu_state *st = dev->impl;
  if (n && !cmds) return tw_err(&dev->err, TW_EINVAL, "emu: submit: commands are NULL");
  if (n > (SIZE_MAX - sizeof(emu_sub)) / sizeof(tw_cmd))
    return tw_err(&dev->err, TW_EOVERFLOW, "emu: submit: %zu commands overflow", n);
  emu_sub *s = tw_malloc_aligned(sizeof *s + n * sizeof(tw_cmd));
  if (!s) return tw_err(&dev->err, TW_ENOMEM, "emu: submit: out of memory (%zu commands)", n);
  s->next = NULL;
  s->n = n;
  if (n) memcpy(s->cmds, cmds, n * sizeof(tw_cmd));
  pthread_mutex_lock(&st->mu);
  uint64_t f = s->fence = ++st->issued; /* s belongs to the device thread once queued */
  if (st->tail)
    st->tail->next = s;
  else
    st->head = s;
  st->tail = s;
  pthread_cond_signal(&st->work);
  pthread_mutex_unlock(&st->mu);
  *fence = f;
  return TW_OK;
}

int emu_queue_wait(tw_device *dev, uint64_t fence, tw_exec_times *times) {
  emu_state *st = dev->impl;
  pthread_mutex_lock(&st->mu);
  if (fence > st->issued) {
    uint64_t issued = st->issued;
    pthread_mutex_unlock(&st->mu);
    return tw_err(&dev->err, TW_EINVAL, "emu: wait: fence %llu was never issued (last %llu)",
                  (unsigned long long)fence, (unsigned long long)issued);
  }
  while (st->completed < fence) pthread_cond_wait(&st->done, &st->mu);
  int rc = TW_OK;
  if (st->err_code && st->err_fence <= fence) {
    rc = st->err_code;
    tw_err(&dev->err, rc, "%s (command %zu of submission %llu)", st->err_msg, st->err_cmd,
           (unsigned long long)st->err_fence);
    st->err_code = 0;
  }
  if (times) {
    times->transfer_s += st->pending.transfer_s;
    times->compute_s += st->pending.compute_s;
    times->modeled_s += st->pending.modeled_s;
  }
  st->pending = (tw_exec_times){0};
  pthread_mutex_unlock(&st->mu);
  return rc;
}

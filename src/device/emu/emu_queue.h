/* The emu device's state and its command queue (one device thread). */
#ifndef TW_DEVICE_EMU_QUEUE_H
#define TW_DEVICE_EMU_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "device/emu/profile.h"

typedef struct emu_sub {
  struct emu_sub *next;
  uint64_t fence;
  size_t n;
  tw_cmd cmds[]; /* copied at submit */
} emu_sub;

/* A device buffer: the public tw_dbuf first, then the list of live buffers
 * (freed at destroy if the caller did not). */
typedef struct emu_buf {
  tw_dbuf dbuf; /* dbuf.impl is the device memory */
  struct emu_buf *prev, *next;
} emu_buf;

typedef struct emu_state {
  pthread_t thread;
  int started;
  /* Everything below `mu` is shared between the host and the device thread
   * and only touched with `mu` held. */
  pthread_mutex_t mu;
  pthread_cond_t work; /* device thread: a submission arrived or stop */
  pthread_cond_t done; /* host: a submission finished */
  emu_sub *head, *tail;
  uint64_t issued;    /* last fence handed out */
  uint64_t completed; /* every submission up to this fence has run (or was cancelled) */
  int stop;
  int err_code;       /* first error not yet returned by wait(), or 0 */
  uint64_t err_fence; /* the submission it came from */
  size_t err_cmd;     /* and its command, 1-based */
  char err_msg[TW_ERRMSG_MAX];
  tw_exec_times pending; /* times of finished submissions not yet reported */
  size_t mem_used, mem_cap;
  emu_buf *buffers; /* live buffers */
  /* Read-only after creation. */
  tw_emu_profile profile;
  double call_s;
  /* The device thread's copy of the device (name, kernel set): validation
   * messages go into shadow.err, never into the host's dev->err. */
  tw_device shadow;
} emu_state;

int emu_queue_start(emu_state *st);
/* Cancels submissions not yet started, lets the running one finish, joins
 * the thread, frees buffers still allocated and st.  NULL is a no-op. */
void emu_queue_destroy(emu_state *st);
int emu_queue_submit(tw_device *dev, const tw_cmd *cmds, size_t n, uint64_t *fence);
int emu_queue_wait(tw_device *dev, uint64_t fence, tw_exec_times *times);

#endif

/* Error messages: a fixed-size buffer per object plus one per thread.
 *
 * tw_err() formats a message, stores it in `buf` (when not NULL) and in the
 * calling thread's last-error slot, and returns `code`, so a failure path is
 * a single `return tw_err(&ctx->err, TW_EINVAL, "...", ...);`. */
#ifndef TW_CORE_ERROR_H
#define TW_CORE_ERROR_H

#include "tilewhisper/status.h"

#define TW_ERRMSG_MAX 512

typedef struct tw_errbuf {
  char msg[TW_ERRMSG_MAX];
} tw_errbuf;

#if defined(__GNUC__)
#define TW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TW_PRINTF(a, b)
#endif

int tw_err(tw_errbuf *buf, int code, const char *fmt, ...) TW_PRINTF(3, 4);

/* Copies the thread's last message into buf (used to forward an error raised
 * by a lower layer into an object's own buffer). Returns code. */
int tw_err_forward(tw_errbuf *buf, int code);

void tw_errbuf_clear(tw_errbuf *buf);

#endif

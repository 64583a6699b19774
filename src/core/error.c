#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local tw_errbuf thread_last;

int tw_err(tw_errbuf *buf, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(thread_last.msg, sizeof thread_last.msg, fmt, ap);
  va_end(ap);
  if (buf && buf != &thread_last) memcpy(buf->msg, thread_last.msg, sizeof buf->msg);
  return code;
}

int tw_err_forward(tw_errbuf *buf, int code) {
  if (buf) memcpy(buf->msg, thread_last.msg, sizeof buf->msg);
  return code;
}

void tw_errbuf_clear(tw_errbuf *buf) {
  if (buf) buf->msg[0] = '\0';
}

const char *tw_last_error(void) { return thread_last.msg; }

/* Status codes shared by every tilewhisper call.
 *
 * Every function that can fail returns 0 (TW_OK) or one of the negative codes
 * below; results travel through out-parameters.  The codes, their names and
 * their one-line meanings are generated from one X-macro so they cannot drift
 * apart.  A longer message naming the file, offset, tensor or shape is kept
 * by the object the call was made on (tw_stream_last_error,
 * tw_device_last_error, tw_model_last_error, tw_state_last_error) and per
 * thread (tw_last_error). */
#ifndef TILEWHISPER_STATUS_H
#define TILEWHISPER_STATUS_H

#include "tilewhisper/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TW_STATUS_MAP(X)                                                   \
  X(OK, 0, "success")                                                      \
  X(EINVAL, -1, "invalid argument")                                        \
  X(ENOMEM, -2, "out of memory")                                           \
  X(ESHAPE, -3, "matrix shapes do not match")                              \
  X(EOVERFLOW, -4, "size overflows")                                       \
  X(EDEVICE, -5, "device error")                                           \
  X(EUNSUPPORTED, -6, "not supported by this device or build")             \
  X(EIO, -7, "input/output error")                                         \
  X(EFORMAT, -8, "malformed file")                                         \
  X(ERANGE, -9, "value out of range")                                      \
  X(EBUDGET, -10, "device memory budget exceeded")                         \
  X(EBOUNDS, -11, "access outside a device buffer")                        \
  X(EWRONGDEVICE, -12, "object belongs to another device")      \
  X(ENOTFOUND, -13, "not found")                                           \
  X(EAUDIO, -14, "audio could not be decoded")                            \
  X(EABORTED, -15, "aborted by the caller")

typedef enum tw_status {
#define TW_STATUS_ENUM(name, value, msg) TW_##name = (value),
  TW_STATUS_MAP(TW_STATUS_ENUM)
#undef TW_STATUS_ENUM
} tw_status;

/* Short fixed meaning of a status code; never NULL. */
TW_API const char *tw_strerror(int status);

/* Symbolic name of a status code ("TW_EINVAL"); never NULL. */
TW_API const char *tw_status_name(int status);

/* Detailed message of the last error raised on this thread by any
 * tilewhisper call (including calls without an object, such as
 * tw_device_create).  Empty string when none.  The pointer stays valid until
 * the next failing call on this thread. */
TW_API const char *tw_last_error(void);

#ifdef __cplusplus
}
#endif
#endif

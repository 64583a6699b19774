#include "tilewhisper/status.h"

#include "core/error.h"

const char *tw_strerror(int status) {
  switch (status) {
#define TW_STATUS_MSG(name, value, msg) \
  case value:                           \
    return msg;
    TW_STATUS_MAP(TW_STATUS_MSG)
#undef TW_STATUS_MSG
  }
  return "unknown status";
}

const char *tw_status_name(int status) {
  switch (status) {
#define TW_STATUS_NAME(name, value, msg) \
  case value:                            \
    return "TW_" #name;
    TW_STATUS_MAP(TW_STATUS_NAME)
#undef TW_STATUS_NAME
  }
  return "TW_UNKNOWN";
}

#include "tilewhisper/tilewhisper.h"

const char *tw_version(void) { return TW_VERSION; }

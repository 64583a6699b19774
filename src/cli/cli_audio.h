/* What the CLI tells a user about audio the library decoded with a
 * caveat (the library reports, the tool prints). */
#ifndef TW_CLI_CLI_AUDIO_H
#define TW_CLI_CLI_AUDIO_H

#include "tilewhisper/whisper.h"

/* Warns on standard error when the file's data ended before the frame
 * count its header announces, saying how much was read. */
void tw_cli_audio_warnings(const char *cmd, const char *path, const tw_audio_info *info);

#endif

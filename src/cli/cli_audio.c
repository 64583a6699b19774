#include "cli_audio.h"

#include <stdio.h>
#include <string.h>

void tw_cli_audio_warnings(const char *cmd, const char *path, const tw_audio_info *info) {
  if (!info->truncated) return;
  const double rate = info->source_rate;
  fprintf(stderr,
          "tilewhisper %s: warning: %s: the audio ends early: %lld of the %lld frames its header "
          "announces were read (%.2f s of %.2f s); continuing with what was read\n",
          cmd, strcmp(path, "-") ? path : "standard input", info->frames_read,
          info->header_frames, (double)info->frames_read / rate,
          (double)info->header_frames / rate);
}

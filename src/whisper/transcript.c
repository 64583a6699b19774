#include "whisper/transcript.h"

#include <string.h>

#include "core/mem.h"

void tw_transcript_clear(tw_transcript *t) {
  if (!t) return;
  for (int i = 0; i < t->n_segments; i++) {
    tw_free(t->segments[i].text);
    tw_free(t->segments[i].tokens);
  }
  tw_free(t->segments);
  tw_free(t->text);
  memset(t, 0, sizeof *t);
}

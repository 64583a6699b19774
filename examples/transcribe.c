/* The smallest complete tilewhisper program: load a model once, make a
 * per-stream state, read an audio file, transcribe it, print the segments
 * as they are decided and then as SRT.
 *
 *     cc transcribe.c $(pkg-config --cflags --libs tilewhisper) -o transcribe
 *     ./transcribe ggml-base.en.bin jfk.wav */
#include <stdio.h>
#include <tilewhisper/tilewhisper.h>

static void on_segment(void *user, const tw_segment *s) {
  (void)user;
  printf("[%7.2f --> %7.2f] %s\n", s->start, s->end, s->text);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.bin AUDIO\n", argv[0]);
    return 2;
  }
  tw_model *model = NULL; /* shared, read-only: one per process is enough */
  tw_state *state = NULL; /* one per thread of work */
  float *pcm = NULL;
  size_t n = 0;
  tw_transcript result = {0};
  tw_transcribe_options opts;
  tw_transcribe_options_init(&opts); /* OpenAI's transcribe() defaults: greedy, fallback on */
  opts.on_segment = on_segment;
  int rc = tw_model_load_file(argv[1], NULL, &model);
  if (!rc) rc = tw_state_create(model, NULL, &state);
  if (!rc) rc = tw_audio_read_file(argv[2], &pcm, &n, NULL);
  if (!rc) rc = tw_transcribe(state, pcm, n, &opts, &result);
  if (!rc) {
    printf("language %s, %d segments, %.2f s of audio\n", result.language, result.n_segments,
           (double)n / TW_SAMPLE_RATE);
    rc = tw_transcript_write(stdout, &result, TW_OUTPUT_SRT);
  }
  if (rc) fprintf(stderr, "error: %s: %s\n", tw_strerror(rc), tw_last_error());
  tw_transcript_clear(&result);
  tw_audio_free(pcm);
  tw_state_destroy(state);
  tw_model_destroy(model);
  return rc ? 1 : 0;
}

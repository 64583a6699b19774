/* The smallest complete tilewhisper program: load a model once, make a
 * per-stream state, read an audio file, encode every 30 s window.
 *
 *     cc encode_file.c $(pkg-config --cflags --libs tilewhisper) -o encode_file
 *     ./encode_file ggml-base.bin jfk.wav */
#include <stdio.h>
#include <tilewhisper/tilewhisper.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.bin AUDIO\n", argv[0]);
    return 2;
  }
  tw_model *model = NULL; /* shared, read-only: one per process is enough */
  tw_state *state = NULL; /* one per thread of work */
  float *pcm = NULL;
  size_t n = 0;
  int rc = tw_model_load_file(argv[1], NULL, &model);
  if (!rc) rc = tw_state_create(model, NULL, &state);
  if (!rc) rc = tw_audio_read_file(argv[2], &pcm, &n, NULL);
  if (!rc) rc = tw_state_set_pcm(state, pcm, n, NULL);
  tw_model_info info;
  if (!rc) rc = tw_model_get_info(model, &info);
  if (rc) {
    fprintf(stderr, "error: %s: %s\n", tw_strerror(rc), tw_last_error());
  } else {
    printf("%s: %.2f s of audio, model %s (%d mel bins) on %s\n", argv[2],
           (double)n / TW_SAMPLE_RATE, info.size, info.n_mels, info.encoder_device);
    size_t frames = tw_state_content_frames(state);
    for (size_t seek = 0; seek < frames || seek == 0; seek += TW_N_FRAMES) {
      const float *out;
      tw_encode_stats st;
      if ((rc = tw_encode_window(state, seek, &out, &st))) {
        fprintf(stderr, "error: %s\n", tw_state_last_error(state));
        break;
      }
      printf("window at %6.2f s: %d x %d encoder states in %.3f s (%.1f GFLOP/s), first %.4f\n",
             (double)seek / 100.0, info.n_audio_ctx, info.n_audio_state, st.total_s,
             st.flops / st.total_s * 1e-9, out[0]);
    }
  }
  tw_audio_free(pcm);
  tw_state_destroy(state);
  tw_model_destroy(model);
  return rc ? 1 : 0;
}

/* Every released model shape: the hyper-parameters of each size name
 * against OpenAI's published ModelDimensions, and a synthetic file of each
 * (one block per stack, real widths, vocabularies and mel bins) written,
 * loaded and checked.  The mel filter banks the writer generates against
 * OpenAI's own. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw_test.h"
#include "whisper/model.h"

/* openai/whisper's checkpoints (ModelDimensions), named as whisper.cpp's
 * ggml-NAME.bin files: n_state, n_head, encoder layers, decoder layers,
 * mel bins, vocabulary (51864 English-only, 51865 multilingual, 51866
 * from large-v3 on, which added a language). */
static const struct {
  const char *name;
  int state, head, enc, dec, mels, vocab;
} SIZES[] = {{"tiny", 384, 6, 4, 4, 80, 51865},
             {"tiny.en", 384, 6, 4, 4, 80, 51864},
             {"base", 512, 8, 6, 6, 80, 51865},
             {"base.en", 512, 8, 6, 6, 80, 51864},
             {"small", 768, 12, 12, 12, 80, 51865},
             {"small.en", 768, 12, 12, 12, 80, 51864},
             {"medium", 1024, 16, 24, 24, 80, 51865},
             {"medium.en", 1024, 16, 24, 24, 80, 51864},
             {"large-v1", 1280, 20, 32, 32, 80, 51865},
             {"large-v2", 1280, 20, 32, 32, 80, 51865},
             {"large-v3", 1280, 20, 32, 32, 128, 51866},
             {"large-v3-turbo", 1280, 20, 32, 4, 128, 51866}};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])

static void test_hparams(void) {
  tw_errbuf err = {{0}};
  for (size_t i = 0; i < N_SIZES; i++) {
    tw_whisper_hparams hp;
    int rc = tw_whisper_hparams_for_size(SIZES[i].name, &hp, &err);
    CHECK_MSG(rc == 0, "%s: %s", SIZES[i].name, err.msg);
    CHECK_MSG(hp.n_audio_state == SIZES[i].state && hp.n_text_state == SIZES[i].state &&
                  hp.n_audio_head == SIZES[i].head && hp.n_text_head == SIZES[i].head &&
                  hp.n_audio_layer == SIZES[i].enc && hp.n_text_layer == SIZES[i].dec &&
                  hp.n_mels == SIZES[i].mels && hp.n_vocab == SIZES[i].vocab &&
                  hp.n_audio_ctx == 1500 && hp.n_text_ctx == 448 && hp.ftype == 1,
              "%s", SIZES[i].name);
  }
  /* the listing names exactly these sizes */
  size_t n = 0;
  for (const char *s; (s = tw_whisper_size_name((int)n)); n++)
    CHECK_MSG(n < N_SIZES && !strcmp(s, SIZES[n].name), "size %zu: %s", n, s);
  CHECK(n == N_SIZES && tw_whisper_size_name(-1) == NULL);
  CHECK(tw_whisper_hparams_for_size("large", NULL, &err) == TW_EINVAL && strstr(err.msg, "large"));
}

static void check_shape(const tw_whisper_model *m, const char *name, int64_t a, int64_t b) {
  const tw_tensor *t = tw_whisper_model_find(m, name);
  CHECK_MSG(t && t->ne[0] == a && t->ne[1] == b, "%s: %s [%lld, %lld], want [%lld, %lld]",
            m->path, name, t ? (long long)t->ne[0] : -1LL, t ? (long long)t->ne[1] : -1LL,
            (long long)a, (long long)b);
}

/* One block per stack, every other dimension the size's own; two shapes
 * written quantized (q8_0, q5_0) as many users download them.  Zero weights:
 * this is about shapes (values are tested on small models elsewhere), and
 * drawing ~120 M random numbers per large shape would take minutes under
 * the sanitizers. */
static void test_files(void) {
  char path[64]; /* in memory where there is a tmpfs: up to 250 MB per file */
  snprintf(path, sizeof path, "%s/tw_sizes_%ld.bin",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
  for (size_t i = 0; i < N_SIZES; i++) {
    tw_synth_options o = {.size = SIZES[i].name, .n_layers = 1, .seed = 3, .zero_weights = 1};
    if (!strcmp(SIZES[i].name, "large-v3-turbo")) o.quant = TW_TENSOR_Q5_0;
    if (!strcmp(SIZES[i].name, "medium.en")) o.quant = TW_TENSOR_Q8_0;
    tw_errbuf err = {{0}};
    tw_whisper_model *m = NULL;
    int rc = tw_whisper_synth_write(&o, path, &err);
    if (rc == 0) rc = tw_whisper_model_load(path, &m, &err);
    CHECK_MSG(rc == 0, "%s: %s", SIZES[i].name, err.msg);
    if (rc) continue;
    const int64_t n = SIZES[i].state;
    const tw_whisper_hparams *hp = &m->hp;
    CHECK_MSG(hp->n_audio_state == n && hp->n_text_state == n && hp->n_audio_head == SIZES[i].head &&
                  hp->n_audio_layer == 1 && hp->n_text_layer == 1 && hp->n_mels == SIZES[i].mels &&
                  hp->n_vocab == SIZES[i].vocab && m->n_vocab_file == SIZES[i].vocab &&
                  m->n_mel == SIZES[i].mels,
              "%s: hparams", SIZES[i].name);
    /* 5 encoder-level + 15 per encoder block + ln_post 2; 2 embeddings + 24
     * per decoder block + ln 2 */
    CHECK_MSG(m->n_tensors == 7 + 15 + 4 + 24, "%s: %zu tensors", SIZES[i].name, m->n_tensors);
    check_shape(m, "encoder.conv1.weight", 3, SIZES[i].mels);
    check_shape(m, "encoder.positional_embedding", n, 1500);
    check_shape(m, "encoder.blocks.0.mlp.0.weight", n, 4 * n);
    check_shape(m, "decoder.token_embedding.weight", n, SIZES[i].vocab);
    check_shape(m, "decoder.positional_embedding", n, 448);
    check_shape(m, "decoder.blocks.0.cross_attn.key.weight", n, n);
    const tw_tensor *q = tw_whisper_model_find(m, "decoder.blocks.0.attn.query.weight");
    CHECK(q && (int32_t)q->type == (o.quant ? o.quant : TW_TENSOR_F16));
    /* zero weights, LayerNorm weight 1, sinusoidal positions: sin(0) = 0,
     * cos(0) = 1 at position 0 */
    float v[2];
    CHECK(q && tw_tensor_read_f32(q, q->n_elements - 1, 1, v) == 0 && v[0] == 0.0f);
    CHECK(tw_tensor_read_f32(m->enc_layers[0].mlp_ln_w, 0, 1, v) == 0 && v[0] == 1.0f);
    CHECK(tw_tensor_read_f32(m->enc_pos_emb, (size_t)n / 2 - 1, 2, v) == 0 && v[0] == 0.0f &&
          v[1] == 1.0f);
    printf("  %-15s n_state %4lld, %3d mel bins, %d tokens, %s weights: loads\n", SIZES[i].name,
           (long long)n, SIZES[i].mels, SIZES[i].vocab, o.quant ? "quantized" : "f16");
    tw_whisper_model_free(m);
  }
  unlink(path);
}

/* The writer's Slaney banks (80 and 128 bins) equal OpenAI's mel_filters.npz
 * to float rounding, so synthetic large-v3 files carry the real filters. */
static void test_filters(void) {
  for (int mels = 80; mels <= 128; mels += 48) {
    char name[32];
    snprintf(name, sizeof name, "mel_filters_%d.f32", mels);
    FILE *f = fopen(tw_test_data(name), "rb");
    CHECK_MSG(f != NULL, "%s missing", name);
    if (!f) continue;
    size_t n = (size_t)mels * 201;
    float *want = malloc(n * sizeof *want), *ours = malloc(n * sizeof *ours);
    CHECK(fread(want, sizeof *want, n, f) == n && fgetc(f) == EOF);
    fclose(f);
    tw_mel_filters_slaney(mels, ours);
    double worst = 0, peak = 0;
    for (size_t i = 0; i < n; i++)
      worst = fmax(worst, fabs((double)ours[i] - want[i])), peak = fmax(peak, fabs(want[i]));
    printf("  %d-bin filters: max difference %.2e (peak %.3g)\n", mels, worst, peak);
    CHECK_MSG(worst <= 1e-6 * peak, "%d bins: differ by %g", mels, worst);
    free(want), free(ours);
  }
}

int main(void) {
  test_hparams();
  test_filters();
  test_files();
  return tw_test_finish("test_model_sizes");
}

/* The encoder against an independent fp64 forward pass, on every device that
 * exists in this build, in FP32 and BF16 modes; repeat runs; bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_test.h"
#include "tw_test_stack.h"
#include "tw_test_encref.h"
#include "tw_test_memmodel.h"
#include "core/mem.h"
#include "device/device.h"
#include "whisper/encoder.h"

#define FP32_BOUND 1e-4
#define BF16_BOUND 1e-2

/* tiny's encoder width, two blocks; short windows except on the cpu device */
static const tw_test_model_spec SPEC = {.n_state = 384, .n_head = 6, .n_layer = 2, .n_mels = 80,
                                        .n_audio_ctx = 1500, .qk_std = 0.08, .seed = 42};

static float *make_mel(int n_mels, int n_frames, uint64_t seed) {
  float *mel = malloc((size_t)n_mels * n_frames * sizeof *mel);
  tw_rng r = {seed};
  if (mel) tw_fill_uniform(&r, mel, (size_t)n_mels * n_frames, -1.0f, 1.5f);
  return mel;
}

/* A device and one stream on it, or NULL with a printed note when the build
 * lacks the device; drop() destroys both. */
static tw_stream *open_device(const char *device) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = device;
  o.threads = 2;
  tw_device *dev = NULL;
  int rc = tw_device_create(&o, &dev);
  if (rc == TW_ENOTFOUND) {
    printf("  %-6s skipped: device not in this build\n", device);
    return NULL;
  }
  CHECK_MSG(rc == TW_OK, "%s: %s", device, tw_last_error());
  if (rc) return NULL;
  tw_stream *s = tw_test_stream_on(dev);
  CHECK_MSG(s != NULL, "%s stream: %s", device, tw_last_error());
  return s;
}

static void drop(tw_stream *s) { tw_test_stream_drop(s); }

/* Runs one mode on one device (named `dev` in the report) and compares
 * with the reference. */
static void check_mode(tw_stream *s, const char *dev, const tw_whisper_model *m, int n_ctx,
                       int fp32, int pv, const float *mel, const double *ref) {
  tw_device *device = tw_stream_device(s);
  tw_encoder_options o;
  tw_encoder_options_init(&o);
  o.n_ctx = n_ctx;
  o.pv = pv;
  tw_encoder_weights *w = NULL;
  tw_encoder *enc = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_encoder_weights_create(m, device, fp32, &w, &err);
  if (rc == TW_EUNSUPPORTED && fp32) {
    printf("  %-6s fp32 skipped: %s\n", dev, err.msg);
    return;
  }
  CHECK_MSG(rc == TW_OK, "%s weights: %s", dev, err.msg);
  if (rc) return;
  rc = tw_encoder_create(w, s, &o, &enc, &err);
  CHECK_MSG(rc == TW_OK, "%s create: %s", dev, err.msg);
  if (rc) {
    tw_encoder_weights_destroy(w);
    return;
  }
  float *out = NULL;
  tw_encoder_timings t;
  rc = tw_encoder_run(enc, mel, &out, &t);
  CHECK_MSG(rc == TW_OK, "%s run: %s", dev, tw_encoder_last_error(enc));
  if (rc == TW_OK) {
    const size_t n = (size_t)m->hp.n_audio_state;
    double max_abs, e = tw_reference_rel_error(out, n, ref, n, (size_t)n_ctx, n, &max_abs);
    const double bound = fp32 ? FP32_BOUND : BF16_BOUND;
    printf("  %-6s %s n_ctx %4d %s: rel frobenius %.3e (bound %.0e), max abs %.3e, %.3f s, "
           "%llu calls, %llu invocations\n",
           dev, fp32 ? "fp32" : "bf16", n_ctx, tw_encoder_pv(enc) == TW_PV_TRANSPOSED ? "(VtPt)^T" : "P V     ",
           e, bound, max_abs, t.total_s,
           (unsigned long long)t.gemm_calls, (unsigned long long)t.invocations);
    CHECK_MSG(e <= bound, "%s %s: error %.3e > %.0e", dev, fp32 ? "fp32" : "bf16", e, bound);
    double want = tw_encoder_flops(&m->hp, n_ctx);
    CHECK_MSG(fabs(t.flops - want) <= 1e-9 * want, "flops %.6e, tw_encoder_flops %.6e", t.flops, want);
    CHECK(t.n_layers == m->hp.n_audio_layer && t.total_s > 0);
  }
  tw_encoder_destroy(enc);
  tw_encoder_weights_destroy(w);
}

static void test_devices_pv(const tw_whisper_model *m, int n_ctx, const char *const *devices,
                            int pv) {
  const int n = m->hp.n_audio_state;
  float *mel = make_mel(m->hp.n_mels, 2 * n_ctx, 7);
  double *ref = malloc((size_t)n_ctx * n * sizeof *ref);
  CHECK(mel && ref);
  if (mel && ref && tw_test_encoder_ref(m, n_ctx, mel, ref) == 0) {
    for (const char *const *d = devices; *d; d++) {
      tw_stream *s = open_device(*d);
      if (!s) continue;
      check_mode(s, *d, m, n_ctx, 1, pv, mel, ref);
      check_mode(s, *d, m, n_ctx, 0, pv, mel, ref);
      drop(s);
    }
  } else {
    CHECK_MSG(0, "reference forward pass failed");
  }
  free(mel);
  free(ref);
}

static void test_devices(const tw_whisper_model *m, int n_ctx, const char *const *devices) {
  test_devices_pv(m, n_ctx, devices, TW_PV_AUTO);
}

/* Run A, run B, run A again: the third output equals the first bit for bit. */
static void test_repeat(const tw_whisper_model *m, const char *device, int n_ctx) {
  tw_stream *s = open_device(device);
  if (!s) return;
  const size_t n = (size_t)m->hp.n_audio_state, count = (size_t)n_ctx * n;
  tw_encoder_options o;
  tw_encoder_options_init(&o);
  o.n_ctx = n_ctx;
  tw_encoder_weights *w = NULL;
  tw_encoder *enc = NULL;
  float *a = make_mel(m->hp.n_mels, 2 * n_ctx, 1), *b = make_mel(m->hp.n_mels, 2 * n_ctx, 2);
  float *first = malloc(count * sizeof *first), *out = NULL;
  CHECK(a && b && first);
  int rc = tw_encoder_weights_create(m, tw_stream_device(s), 0, &w, NULL);
  if (rc == TW_OK) rc = tw_encoder_create(w, s, &o, &enc, NULL);
  CHECK_MSG(rc == TW_OK, "%s", tw_last_error());
  if (rc == TW_OK && a && b && first) {
    CHECK(tw_encoder_run(enc, a, &out, NULL) == TW_OK);
    if (out) memcpy(first, out, count * sizeof *first);
    CHECK(tw_encoder_run(enc, b, &out, NULL) == TW_OK);
    CHECK(out && memcmp(first, out, count * sizeof *out) != 0);
    float *again = NULL;
    /* The encoder itself never allocates in a run: with the next allocation
   * made to fail, a run either succeeds or fails inside an engine call
   * (the engine may allocate per call; that is the engine's contract). */
  tw_mem_fail_after(1);
  rc = tw_encoder_run(enc, a, &again, NULL);
  tw_mem_fail_after(0);
  const char *msg = tw_encoder_last_error(enc);
  if (rc != TW_OK) printf("  %-6s note: the engine allocated during a steady-state run: %s\n", device, msg);
  CHECK_MSG(rc == TW_OK || strstr(msg, "(M ") || strstr(msg, "refilling"), "%s", msg);
  CHECK(tw_encoder_run(enc, a, &again, NULL) == TW_OK);
    CHECK(again == out); /* the encoder's own buffer, reused */
    CHECK(again && memcmp(first, again, count * sizeof *again) == 0);
    printf("  %-6s repeat runs identical: %s\n", device,
           again && !memcmp(first, again, count * sizeof *again) ? "yes" : "NO");
  }
  tw_encoder_destroy(enc);
  tw_encoder_weights_destroy(w);
  drop(s);
  free(a), free(b), free(first);
}

/* Bad input fails with a code and a message, never a crash. */
static void test_bad_input(tw_whisper_model *m) {
  tw_stream *s = open_device("ref");
  if (!s) return;
  tw_device *dev = tw_stream_device(s);
  tw_encoder_weights *w = (tw_encoder_weights *)&w; /* must be reset to NULL */
  tw_encoder *enc = (tw_encoder *)&enc;             /* likewise */
  tw_errbuf err = {{0}};
  CHECK(tw_encoder_weights_create(NULL, dev, 0, &w, &err) == TW_EINVAL && w == NULL);
  CHECK(strstr(err.msg, "model") != NULL);
  CHECK(tw_encoder_weights_create(m, NULL, 0, &w, &err) == TW_EINVAL);
  CHECK(tw_encoder_create(NULL, s, NULL, &enc, &err) == TW_EINVAL && enc == NULL);
  CHECK(tw_encoder_weights_create(m, dev, 0, &w, &err) == TW_OK);
  CHECK(tw_encoder_create(w, NULL, NULL, &enc, &err) == TW_EINVAL);

  tw_encoder_options o;
  tw_encoder_options_init(&o);
  o.n_ctx = m->hp.n_audio_ctx + 1;
  CHECK(tw_encoder_create(w, s, &o, &enc, &err) == TW_EINVAL && strstr(err.msg, "n_ctx"));
  o.n_ctx = 0;
  o.pv = 7;
  CHECK(tw_encoder_create(w, s, &o, &enc, &err) == TW_EINVAL && strstr(err.msg, "pv"));
  o.pv = TW_PV_AUTO;

  /* a query weight with its dimensions swapped to [4n, n] */
  tw_encoder_weights *bad = NULL;
  tw_tensor *qw = (tw_tensor *)m->enc_layers[1].attn_q_w, saved = *qw;
  qw->ne[1] = 4 * qw->ne[1];
  qw->n_elements *= 4;
  CHECK(tw_encoder_weights_create(m, dev, 0, &bad, &err) == TW_ESHAPE);
  CHECK_MSG(strstr(err.msg, "encoder.blocks.1.attn.query.weight") != NULL, "%s", err.msg);
  *qw = saved;
  /* a missing bias */
  const tw_tensor *bias = m->enc_layers[0].mlp_2_b;
  m->enc_layers[0].mlp_2_b = NULL;
  CHECK(tw_encoder_weights_create(m, dev, 0, &bad, &err) == TW_EINVAL);
  CHECK_MSG(strstr(err.msg, "encoder.blocks.0.mlp.2.bias") != NULL, "%s", err.msg);
  m->enc_layers[0].mlp_2_b = bias;
  /* wrong mel channel count for conv1 */
  int mels = m->hp.n_mels;
  m->hp.n_mels = 128;
  CHECK(tw_encoder_weights_create(m, dev, 0, &bad, &err) == TW_ESHAPE && strstr(err.msg, "conv1"));
  m->hp.n_mels = mels;
  CHECK(bad == NULL);
  printf("  bad input: last message \"%s\"\n", err.msg);

  o.n_ctx = 8;
  CHECK(tw_encoder_create(w, s, &o, &enc, &err) == TW_OK);
  float *out = (float *)&out;
  CHECK(tw_encoder_run(enc, NULL, &out, NULL) == TW_EINVAL && out == (float *)&out);
  CHECK(strstr(tw_encoder_last_error(enc), "mel") != NULL);
  CHECK(tw_encoder_run(NULL, NULL, &out, NULL) == TW_EINVAL);
  tw_encoder_destroy(enc);
  tw_encoder_destroy(NULL);
  tw_encoder_weights_destroy(w);
  tw_encoder_weights_destroy(NULL);
  drop(s);
}

/* Every allocation of create, failed in turn: ENOMEM, no leak (ASan). */
static void test_create_oom(const tw_whisper_model *m) {
  tw_stream *s = open_device("ref");
  if (!s) return;
  tw_encoder_options o;
  tw_encoder_options_init(&o);
  o.n_ctx = 8;
  int n, rc = TW_ENOMEM, wrong = 0;
  for (n = 1; n < 1000 && rc != TW_OK; n++) {
    tw_encoder_weights *w = NULL;
    tw_encoder *enc = NULL;
    tw_mem_fail_after(n);
    rc = tw_encoder_weights_create(m, tw_stream_device(s), 0, &w, NULL);
    if (rc != TW_OK && (rc != TW_ENOMEM || w != NULL)) wrong++;
    if (rc == TW_OK) {
      rc = tw_encoder_create(w, s, &o, &enc, NULL);
      if (rc != TW_OK && (rc != TW_ENOMEM || enc != NULL)) wrong++;
    }
    tw_mem_fail_after(0);
    tw_encoder_destroy(enc);
    tw_encoder_weights_destroy(w);
  }
  printf("  create with allocation n failing, n = 1..%d: %d wrong results\n", n - 1, wrong);
  CHECK(rc == TW_OK && wrong == 0);
  drop(s);
}

/* Points t's data at a copy one byte off alignment, as a file mapping may;
 * returns the copy's allocation (the caller restores t and frees it). */
static void *misalign(tw_tensor *t) {
  size_t bytes = t->n_elements * (t->type == TW_TENSOR_F16 ? 2 : 4);
  unsigned char *p = malloc(bytes + 1);
  if (p) {
    memcpy(p + 1, t->data, bytes);
    t->data = p + 1;
  }
  return p;
}

/* Other tensor types (f32 matrices as ftype 0, f16 vectors) and tensor
 * data that is not aligned for its type. */
static void test_tensor_types(void) {
  static const char *const fixed[] = {"fixed", NULL};
  for (int f32_matrices = 0; f32_matrices < 2; f32_matrices++) {
    tw_test_model_spec spec = SPEC;
    spec.n_state = 128, spec.n_head = 2, spec.n_layer = 1;
    spec.matrices_f32 = f32_matrices, spec.vectors_f16 = !f32_matrices;
    tw_whisper_model *m = tw_test_model_create(&spec);
    CHECK(m != NULL);
    if (!m) continue;
    tw_tensor *mat = (tw_tensor *)m->enc_layers[0].mlp_0_w, *vec = (tw_tensor *)m->enc_pos_emb;
    const void *mat_data = mat->data, *vec_data = vec->data;
    void *mat_copy = misalign(mat), *vec_copy = misalign(vec);
    CHECK(mat_copy && vec_copy);
    printf("  %s matrices, %s vectors, misaligned mlp.0 and positions:\n",
           f32_matrices ? "f32" : "f16", f32_matrices ? "f16" : "f32");
    test_devices(m, 40, fixed);
    mat->data = mat_data, vec->data = vec_data;
    free(mat_copy), free(vec_copy);
    tw_test_model_destroy(m);
  }
}

static void test_flops(void) {
  tw_whisper_hparams base = {.n_audio_ctx = 1500, .n_audio_state = 512, .n_audio_head = 8,
                             .n_audio_layer = 6, .n_mels = 80};
  double f = tw_encoder_flops(&base, 1500);
  printf("  base encoder flops at 1500 positions: %.2f GFLOP\n", f * 1e-9);
  CHECK(f > 87.0e9 && f < 88.0e9);
}

int main(void) {
  tw_whisper_model *m = tw_test_model_create(&SPEC);
  CHECK(m != NULL);
  if (!m) return tw_test_finish("test_encoder");
  test_flops();
  test_bad_input(m);
  test_create_oom(m);
  static const char *const short_devices[] = {"ref", "fixed", "emu", "opencl", NULL};
  test_devices(m, 100, short_devices);
  /* both ways of computing P V_h, whichever the device would choose */
  static const char *const pv_devices[] = {"fixed", NULL};
  test_devices_pv(m, 100, pv_devices, TW_PV_DIRECT);
  test_devices_pv(m, 100, pv_devices, TW_PV_TRANSPOSED);
  test_repeat(m, "fixed", 64);
  test_repeat(m, "emu", 64); /* asynchronous queue: same bits every run */
  test_tensor_types();

  /* a full 30 s window, only where a fast device exists */
  tw_device *cpu = NULL;
  tw_device_options co;
  tw_device_options_init(&co);
  co.name = "cpu";
  if (tw_device_create(&co, &cpu) == TW_OK) {
    tw_device_destroy(cpu);
    static const char *const cpu_only[] = {"cpu", NULL};
    /* fused attention (bf16 products with bf16 activations where the
     * calibration chose the dot product) and the planned per-head products */
    static const char *const cpu_both[] = {"cpu", "cpu:attention=planned", NULL};
    test_devices(m, 100, cpu_both);
    test_devices_pv(m, 100, cpu_only, TW_PV_TRANSPOSED);
    test_devices(m, 1500, cpu_only);
    test_repeat(m, "cpu", 1500);
  } else {
    printf("  cpu    skipped: device not in this build (no full-size run)\n");
  }
  tw_test_model_destroy(m);
  return tw_test_finish("test_encoder");
}

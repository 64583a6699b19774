/* Quantized model files as whisper.cpp's quantize tool writes them: which
 * tensors are quantized, how far the weights move, the encoder on them, and
 * malformed quantized tensors. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tilewhisper/gemm.h"
#include "tw_test.h"
#include "tw_test_dequant.h"
#include "tw_test_encref.h"
#include "tw_test_memmodel.h"
#include "tilewhisper/reference.h"
#include "tw_test_stack.h"
#include "whisper/encoder.h"
#include "whisper/model.h"

/* A small model: widths whole blocks of 32, two encoder blocks. */
static const tw_whisper_hparams HP = {.n_vocab = 100, .n_audio_ctx = 64, .n_audio_state = 128,
                                      .n_audio_head = 4, .n_audio_layer = 2, .n_text_ctx = 16,
                                      .n_text_state = 128, .n_text_head = 4, .n_text_layer = 1,
                                      .n_mels = 80, .ftype = 1};

/* ggml ids; ggml's ftype of a file mostly of that type; the rel. RMS error
 * of round-to-nearest on N(0, s) weights: a uniform error over one step,
 * RMS step / sqrt(12), step = E[max |x| of 32] / 2^(bits-1) (symmetric) or
 * E[range of 32] / (2^bits - 1) (affine); a simulation of 32 normals gives
 * E[max |x|] = 2.35 s and E[range] = 4.14 s. */
static const struct {
  const char *name;
  int32_t type, ftype;
  double rel_rms;
} QUANTS[] = {{"q4_0", 2, 2, 2.35 / 8 / 3.4641},  {"q4_1", 3, 3, 4.14 / 15 / 3.4641},
              {"q5_0", 6, 8, 2.35 / 16 / 3.4641}, {"q5_1", 7, 9, 4.14 / 31 / 3.4641},
              {"q8_0", 8, 7, 2.35 / 127 / 3.4641}};
#define N_QUANTS 5

static int write_model(const tw_whisper_hparams *hp, int32_t quant, const char *path) {
  tw_synth_options o = {.size = "custom", .seed = 11, .custom = hp, .quant = quant};
  tw_errbuf err = {{0}};
  int rc = tw_whisper_synth_write(&o, path, &err);
  CHECK_MSG(rc == 0, "synth %d: %s", quant, err.msg);
  return rc;
}

static tw_whisper_model *load(const char *path) {
  tw_whisper_model *m = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load(path, &m, &err);
  CHECK_MSG(rc == 0, "%s: %s", path, err.msg);
  return m;
}

static void tmp_path(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "/tmp/tw_quant_%s_%ld.bin", tag, (long)getpid());
}

/* Quantized exactly where whisper.cpp quantizes (2-D f16 weight matrices;
 * not the positional embeddings, conv biases, conv kernels, vectors);
 * returns the rel. Frobenius distance of all quantized weights from the
 * f16 model's, read through the test's own decoders. */
static double check_tensors(const tw_whisper_model *f16, const tw_whisper_model *q, int qi) {
  double num = 0, den = 0;
  CHECK(q->n_tensors == f16->n_tensors);
  for (size_t i = 0; i < f16->n_tensors && i < q->n_tensors; i++) {
    const tw_tensor *a = &f16->tensors[i], *b = &q->tensors[i];
    CHECK(!strcmp(a->name, b->name) && a->n_elements == b->n_elements);
    int quantized = a->type == TW_TENSOR_F16 && a->n_dims == 2;
    int want = quantized ? QUANTS[qi].type : (int)a->type;
    CHECK_MSG((int)b->type == want, "%s %s: type %d, want %d", QUANTS[qi].name, b->name, b->type,
              want);
    for (size_t k = 0; k < a->n_elements; k++) {
      double x = tw_test_tensor_at(a, k), y = tw_test_tensor_at(b, k);
      if (quantized) num += (x - y) * (x - y), den += x * x;
      if (!quantized && x != y) {
        CHECK_MSG(0, "%s: unquantized %s changed at %zu", QUANTS[qi].name, a->name, k);
        break;
      }
    }
  }
  return sqrt(num / den);
}

/* Encoder output [n_ctx][n_state] on the cpu device in fp32 mode (NULL if
 * the device is missing). */
static float *encode(const tw_whisper_model *m, const float *mel, int n_ctx, tw_errbuf *err,
                     int *rc) {
  tw_test_stack st;
  *rc = tw_test_stack_open(&st, "cpu", 2);
  if (*rc) return NULL;
  tw_encoder_options eo;
  tw_encoder_options_init(&eo);
  eo.n_ctx = n_ctx;
  float *copy = NULL, *out = NULL;
  tw_encoder_timings t;
  *rc = tw_test_stack_encoder(&st, m, 1, &eo, err);
  if (*rc == 0) *rc = tw_encoder_run(st.enc, mel, &out, &t);
  size_t n = (size_t)n_ctx * (size_t)m->hp.n_audio_state;
  if (*rc == 0 && (copy = malloc(n * sizeof *copy))) memcpy(copy, out, n * sizeof *copy);
  tw_test_stack_close(&st);
  return copy;
}

/* Each format: tensors and types as whisper.cpp's, weights within the
 * format's rounding error of the f16 ones, the encoder on the quantized
 * model equal to the fp64 reference on the same (dequantized) weights, and
 * within a few times the weight error of the f16 model's output. */
static void test_models(void) {
  char p16[64], pq[64];
  tmp_path(p16, sizeof p16, "f16");
  tmp_path(pq, sizeof pq, "q");
  if (write_model(&HP, 0, p16)) return;
  tw_whisper_model *f16 = load(p16);
  const int n_ctx = HP.n_audio_ctx, n = HP.n_audio_state;
  float *mel = malloc((size_t)HP.n_mels * 2 * n_ctx * sizeof *mel);
  tw_rng r = {5};
  tw_fill_uniform(&r, mel, (size_t)HP.n_mels * 2 * n_ctx, -1.0f, 1.5f);
  tw_errbuf err = {{0}};
  int rc;
  float *out16 = f16 ? encode(f16, mel, n_ctx, &err, &rc) : NULL;
  double *ref = malloc((size_t)n_ctx * n * sizeof *ref);
  for (int qi = 0; f16 && qi < N_QUANTS; qi++) {
    if (write_model(&HP, QUANTS[qi].type, pq)) continue;
    tw_whisper_model *q = load(pq);
    if (!q) continue;
    CHECK(q->hp.ftype == 2000 + QUANTS[qi].ftype);
    double ew = check_tensors(f16, q, qi), est = QUANTS[qi].rel_rms;
    CHECK_MSG(ew > 0.6 * est && ew < 1.4 * est, "%s: weight error %.4f, estimate %.4f",
              QUANTS[qi].name, ew, est);
    float *outq = encode(q, mel, n_ctx, &err, &rc);
    CHECK_MSG(outq || rc == TW_ENOTFOUND, "%s encoder: %s", QUANTS[qi].name, err.msg);
    if (outq && out16 && tw_test_encoder_ref(q, n_ctx, mel, ref) == 0) {
      double max_abs, e_ref = tw_reference_rel_error(outq, (size_t)n, ref, (size_t)n,
                                                     (size_t)n_ctx, (size_t)n, &max_abs);
      for (size_t i = 0; i < (size_t)n_ctx * n; i++) ref[i] = out16[i];
      double e16 = tw_reference_rel_error(outq, (size_t)n, ref, (size_t)n, (size_t)n_ctx,
                                          (size_t)n, &max_abs);
      printf("  %s: weights %.2e from f16 (estimate %.2e); encoder %.2e from the fp64 "
             "reference on its weights, %.2e from the f16 model's output\n",
             QUANTS[qi].name, ew, est, e_ref, e16);
      CHECK_MSG(e_ref <= 1e-4, "%s: %.3e from its reference", QUANTS[qi].name, e_ref);
      /* A linear layer with weight error E moves its output by ~|E|/|W| =
       * ew relative to that output (inputs uncorrelated with E).  Each
       * block adds its products' outputs to a residual stream that also
       * carries the unquantized conv and positional terms, and LayerNorm
       * rescales without amplifying relative errors, so the encoder's
       * output moves by less than ew; it must move (the weights did). */
      CHECK_MSG(e16 <= ew && e16 > 0.05 * ew, "%s: output error %.3e for weights %.3e",
                QUANTS[qi].name, e16, ew);
    }
    free(outq);
    tw_whisper_model_free(q);
  }
  free(ref), free(out16), free(mel);
  tw_whisper_model_free(f16);
  unlink(p16), unlink(pq);
}

/* ---- malformed quantized tensors --------------------------------------- */

typedef struct rec {
  size_t start, data_at, end;
} rec;

static uint8_t *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*size);
  if (b && fread(b, 1, *size, f) != *size) free(b), b = NULL;
  fclose(f);
  return b;
}

static int32_t i32_at(const uint8_t *b, size_t off) {
  int32_t v;
  memcpy(&v, b + off, 4);
  return v;
}

/* The record of `name`, found by the test's own walk (sizes from its block
 * table).  0 if found. */
static int find_record(const uint8_t *b, size_t size, const char *name, rec *out) {
  size_t off = 56 + (size_t)i32_at(b, 48) * (size_t)i32_at(b, 52) * 4;
  int32_t nv = i32_at(b, off);
  off += 4;
  for (int32_t i = 0; i < nv; i++) off += 4 + (size_t)(uint32_t)i32_at(b, off);
  while (off + 12 <= size) {
    int32_t nd = i32_at(b, off), nl = i32_at(b, off + 4), tt = i32_at(b, off + 8);
    size_t ne = 1, name_at = off + 12 + 4 * (size_t)nd;
    for (int d = 0; d < nd; d++) ne *= (size_t)i32_at(b, off + 12 + 4 * (size_t)d);
    size_t bytes = tt == 0 ? 4 * ne : tt == 1 ? 2 * ne : ne / 32 * tw_test_block_bytes(tt);
    rec r = {off, name_at + (size_t)nl, name_at + (size_t)nl + bytes};
    if ((size_t)nl == strlen(name) && !memcmp(b + name_at, name, (size_t)nl)) {
      *out = r;
      return 0;
    }
    off = r.end;
  }
  return -1;
}

static int found(int rc, const char *name) {
  CHECK_MSG(rc == 0, "no record '%s' in the test file", name);
  return rc == 0;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(b, 1, n, f) == n);
  if (f) fclose(f);
}

/* Writes `b` with the i32 at `off` replaced (n bytes of the file kept),
 * loads it and expects a failure whose message holds each of want[]. */
static void expect_fail(const char *path, uint8_t *b, size_t n, size_t off, int32_t v,
                        const char *what, const char *const *want) {
  int32_t old = i32_at(b, off);
  memcpy(b + off, &v, 4);
  write_bytes(path, b, n);
  memcpy(b + off, &old, 4);
  tw_whisper_model *m = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load(path, &m, &err);
  CHECK_MSG(rc < 0 && !m, "%s: loaded", what);
  for (; *want; want++)
    CHECK_MSG(strstr(err.msg, *want) != NULL, "%s: '%s' lacks '%s'", what, err.msg, *want);
  tw_whisper_model_free(m);
}

static void test_malformed(void) {
  char good[64], bad[64];
  tmp_path(good, sizeof good, "good");
  tmp_path(bad, sizeof bad, "bad");
  size_t size = 0;
  rec r;
  char at[64];
  /* a q4_0 matrix relabelled q8_0 needs more bytes than the file has */
  uint8_t *b = write_model(&HP, 2, good) ? NULL : slurp(good, &size);
  const char *last = "decoder.blocks.0.mlp.2.weight";
  if (b && found(find_record(b, size, last, &r), last)) {
    snprintf(at, sizeof at, "offset %zu", r.start);
    expect_fail(bad, b, size, r.start + 8, 8, "wrong row size",
                (const char *[]){last, at, "truncated", NULL});
    expect_fail(bad, b, r.data_at + 1000, 0, i32_at(b, 0), "cut inside quantized data",
                (const char *[]){last, at, "truncated data", NULL});
    expect_fail(bad, b, size, r.start + 8, 12, "q4_K", (const char *[]){last, "q4_K", NULL});
  }
  const char *vec = "encoder.blocks.0.attn.query.bias", *conv = "encoder.conv1.weight";
  const char *pos = "encoder.positional_embedding";
  if (b && found(find_record(b, size, vec, &r), vec))
    expect_fail(bad, b, size, r.start + 8, 2, "quantized vector",
                (const char *[]){vec, "expected f32", NULL});
  if (b && found(find_record(b, size, pos, &r), pos))
    expect_fail(bad, b, size, r.start + 8, 8, "quantized positions",
                (const char *[]){pos, "expected f32", NULL});
  if (b && found(find_record(b, size, conv, &r), conv))
    expect_fail(bad, b, size, r.start + 8, 8, "quantized conv",
                (const char *[]){conv, "3-D", NULL});
  if (b)
    expect_fail(bad, b, size, 44, 2012, "q4_K ftype", (const char *[]){"ftype", "q4_K", NULL});
  free(b);
  /* rows of 48 values cannot be whole blocks of 32 */
  tw_whisper_hparams hp48 = HP;
  hp48.n_audio_state = hp48.n_text_state = 48;
  b = write_model(&hp48, 0, good) ? NULL : slurp(good, &size);
  const char *qw = "encoder.blocks.1.attn.query.weight";
  if (b && found(find_record(b, size, qw, &r), qw)) {
    snprintf(at, sizeof at, "offset %zu", r.start);
    expect_fail(bad, b, size, r.start + 8, 8, "48-wide q8_0",
                (const char *[]){qw, at, "not whole q8_0 blocks of 32", NULL});
  }
  free(b);
  unlink(good), unlink(bad);
}

/* An inf scale inside a quantized matrix: the file loads (scales are not
 * scanned at load, which would read the whole mapping), and preparing the
 * weight fails naming the tensor and the block's offset. */
static void test_bad_scale(void) {
  char path[64];
  tmp_path(path, sizeof path, "scale");
  size_t size = 0;
  rec r;
  uint8_t *b = write_model(&HP, 8, path) ? NULL : slurp(path, &size);
  const char *name = "encoder.blocks.1.mlp.0.weight";
  if (b && found(find_record(b, size, name, &r), name)) {
    size_t blk = r.data_at + 34 * 5; /* block 5 */
    b[blk] = 0x00, b[blk + 1] = 0x7c; /* +inf */
    write_bytes(path, b, size);
    tw_whisper_model *m = load(path);
    float *mel = calloc((size_t)HP.n_mels * 2 * 8, sizeof *mel);
    tw_errbuf err = {{0}};
    int rc = 0;
    float *out = m ? encode(m, mel, 8, &err, &rc) : NULL;
    char want[64];
    snprintf(want, sizeof want, "block 5 at offset %zu", blk);
    CHECK_MSG(!out && (rc == TW_ENOTFOUND || (rc == TW_EFORMAT && strstr(err.msg, name) &&
                                              strstr(err.msg, want))),
              "rc %d '%s'", rc, err.msg);
    free(out), free(mel);
    tw_whisper_model_free(m);
  }
  free(b);
  unlink(path);
}

/* The encoder takes quantized 2-D weight matrices only: a quantized
 * positional embedding or conv kernel (which no file can hold: the loader
 * refuses them) is refused by name rather than misread. */
static void test_encoder_types(void) {
  char path[64];
  tmp_path(path, sizeof path, "types");
  tw_whisper_model *m = write_model(&HP, 8, path) ? NULL : load(path);
  tw_test_stack st = {0};
  int rc = m ? tw_test_stack_open(&st, "ref", 1) : -1;
  CHECK_MSG(rc == 0, "ref device: %s", tw_last_error()); /* always built */
  if (rc == 0) {
    tw_encoder_options eo;
    tw_encoder_options_init(&eo);
    eo.n_ctx = 8;
    tw_tensor *pos = (tw_tensor *)m->enc_pos_emb, *conv = (tw_tensor *)m->conv2_w;
    tw_errbuf err = {{0}};
    pos->type = TW_TENSOR_Q8_0;
    CHECK(tw_test_stack_encoder(&st, m, 0, &eo, &err) == TW_EINVAL && !st.w &&
          strstr(err.msg, "positional_embedding"));
    pos->type = TW_TENSOR_F32, conv->type = TW_TENSOR_Q8_0;
    CHECK(tw_test_stack_encoder(&st, m, 0, &eo, &err) == TW_EINVAL && !st.w &&
          strstr(err.msg, "conv2.weight"));
    conv->type = TW_TENSOR_F16;
    CHECK_MSG(tw_test_stack_encoder(&st, m, 0, &eo, &err) == 0, "%s", err.msg);
  }
  tw_test_stack_close(&st);
  tw_whisper_model_free(m);
  unlink(path);
}

int main(void) {
  test_models();
  test_encoder_types();
  test_malformed();
  test_bad_scale();
  return tw_test_finish("test_model_quant");
}

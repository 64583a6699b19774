/* Model loader: the real base header, a synthetic tiny model read back
 * value by value, and a corpus of malformed files built by mutating it. */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "tw_test.h"
#include "whisper/model.h"
#include "whisper/tensor_names.h"

/* A tensor record located by this test's own walk of the file format. */
typedef struct record {
  char name[64];
  size_t start, dims_at, name_at, data_at, end;
} record;

static uint8_t *file_bytes;
static size_t file_size;
static record recs[256];
static size_t n_recs;
static size_t vocab_at, vocab_end;

static int32_t get_i32(size_t off) {
  int32_t v;
  memcpy(&v, file_bytes + off, 4);
  return v;
}

static void put_i32_at(int fd, size_t off, int32_t v) { CHECK(pwrite(fd, &v, 4, (off_t)off) == 4); }

static void restore(int fd, size_t off, size_t n) {
  CHECK(pwrite(fd, file_bytes + off, n, (off_t)off) == (ssize_t)n);
}

static int read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  file_size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  file_bytes = malloc(file_size);
  size_t got = fread(file_bytes, 1, file_size, f);
  fclose(f);
  return got == file_size ? 0 : -1;
}

/* Independent walk: 4 magic + 44 hparams + 8 + filters + vocab + records. */
static void walk(void) {
  size_t off = 56 + (size_t)get_i32(48) * (size_t)get_i32(52) * 4;
  vocab_at = off;
  int32_t nv = get_i32(off);
  off += 4;
  for (int32_t i = 0; i < nv; i++) off += 4 + (size_t)(uint32_t)get_i32(off);
  vocab_end = off;
  n_recs = 0;
  while (off < file_size && n_recs < 256) {
    record *r = &recs[n_recs++];
    int32_t nd = get_i32(off), nl = get_i32(off + 4), tt = get_i32(off + 8);
    size_t ne = 1;
    r->start = off;
    r->dims_at = off + 12;
    for (int d = 0; d < nd; d++) ne *= (size_t)get_i32(off + 12 + 4 * (size_t)d);
    r->name_at = off + 12 + 4 * (size_t)nd;
    memcpy(r->name, file_bytes + r->name_at, (size_t)nl);
    r->name[nl] = '\0';
    r->data_at = r->name_at + (size_t)nl;
    r->end = r->data_at + ne * (tt == 1 ? 2 : 4);
    off = r->end;
  }
}

static const record *find_rec(const char *name) {
  for (size_t i = 0; i < n_recs; i++)
    if (!strcmp(recs[i].name, name)) return &recs[i];
  return NULL;
}

/* Loads path (full mode), expects failure whose message holds want1 and
 * (if given) want2. */
static void expect_fail(const char *path, const char *what, const char *want1, const char *want2) {
  tw_whisper_model *m = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load(path, &m, &err);
  CHECK_MSG(rc < 0 && m == NULL, "%s: loaded (rc %d)", what, rc);
  CHECK_MSG(!strcmp(err.msg, tw_last_error()), "%s: errbuf and last error differ", what);
  CHECK_MSG(strstr(err.msg, want1) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, want1);
  if (want2) CHECK_MSG(strstr(err.msg, want2) != NULL, "%s: '%s' lacks '%s'", what, err.msg, want2);
  tw_whisper_model_free(m);
}


/* ---- the real base header -------------------------------------------- */

static void test_header_only(void) {
  const char *path = tw_test_data("for-tests-ggml-base.bin");
  tw_whisper_model *m = NULL;
  tw_errbuf err = {{0}};
  int rc = tw_whisper_model_load_ex(path, TW_LOAD_HEADER_ONLY, &m, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc) return;
  const tw_whisper_hparams *hp = &m->hp;
  CHECK(hp->n_vocab == 51865 && hp->n_audio_ctx == 1500 && hp->n_audio_state == 512);
  CHECK(hp->n_audio_head == 8 && hp->n_audio_layer == 6 && hp->n_text_ctx == 448);
  CHECK(hp->n_text_state == 512 && hp->n_text_head == 8 && hp->n_text_layer == 6);
  CHECK(hp->n_mels == 80 && hp->ftype == 1);
  CHECK(m->n_mel == 80 && m->n_fft_bins == 201 && m->mel_filters != NULL);
  CHECK(m->n_vocab_file == 50257 && m->n_tensors == 0 && m->conv1_w == NULL);
  /* token 0 of GPT-2's byte-level vocabulary is "!" */
  CHECK(m->token_lens[0] == 1 && m->token_bytes[0][0] == '!');
  /* The file's filters came from librosa; ours are computed from the Slaney
   * formulas, so they must agree to float rounding. */
  float *ours = malloc(80 * 201 * sizeof(float));
  tw_mel_filters_slaney(80, ours);
  double max_diff = 0, max_val = 0;
  for (int i = 0; i < 80 * 201; i++) {
    float v;
    memcpy(&v, &m->mel_filters[i], 4);
    max_diff = fmax(max_diff, fabs(v - ours[i]));
    max_val = fmax(max_val, fabs(v));
  }
  CHECK_MSG(max_diff < 1e-6 * fmax(1.0, max_val * 100), "filters differ by %g", max_diff);
  free(ours);
  tw_whisper_model_free(m);
  expect_fail(path, "header-only file in full mode", "missing tensor 'encoder.positional_embedding'",
              NULL);
}

/* ---- a synthetic tiny model ------------------------------------------ */

static void check_shape(const tw_tensor *t, int n_dims, int64_t a, int64_t b, int64_t c) {
  CHECK_MSG(t != NULL, "tensor missing");
  if (!t) return;
  CHECK_MSG(t->n_dims == n_dims && t->ne[0] == a && t->ne[1] == b && t->ne[2] == c,
            "%s: %d dims %lld %lld %lld", t->name, t->n_dims, (long long)t->ne[0],
            (long long)t->ne[1], (long long)t->ne[2]);
}

/* mean and standard deviation of a whole tensor */
static void moments(const tw_tensor *t, double *mean, double *sd) {
  float *v = malloc(t->n_elements * sizeof(float));
  CHECK(tw_tensor_read_f32(t, 0, t->n_elements, v) == 0);
  double s = 0, s2 = 0;
  for (size_t i = 0; i < t->n_elements; i++) s += v[i], s2 += (double)v[i] * v[i];
  *mean = s / (double)t->n_elements;
  *sd = sqrt(s2 / (double)t->n_elements - *mean * *mean);
  free(v);
}

static void check_values(const tw_whisper_model *m) {
  int n = m->hp.n_audio_state, ctx = m->hp.n_audio_ctx, half = n / 2;
  float *pe = malloc((size_t)n * ctx * sizeof(float));
  CHECK(tw_tensor_read_f32(m->enc_pos_emb, 0, (size_t)n * ctx, pe) == 0);
  double worst = 0;
  for (int t = 0; t < ctx; t++)
    for (int i = 0; i < half; i++) {
      double inv = pow(10000.0, -(double)i / (half - 1));
      worst = fmax(worst, fabs(pe[(size_t)t * n + i] - sin(t * inv)));
      worst = fmax(worst, fabs(pe[(size_t)t * n + half + i] - cos(t * inv)));
    }
  CHECK_MSG(worst < 1e-5, "positional embedding off by %g", worst);
  free(pe);
  for (int l = 0; l < m->hp.n_audio_layer; l++) {
    const tw_encoder_layer *L = &m->enc_layers[l];
    double mean, sd;
    moments(L->attn_ln_w, &mean, &sd);
    CHECK(mean == 1.0 && sd == 0.0);
    moments(L->mlp_ln_b, &mean, &sd);
    CHECK(mean == 0.0 && sd == 0.0);
    moments(L->attn_q_w, &mean, &sd);
    CHECK_MSG(fabs(mean) < 1e-3 && fabs(sd - 0.02) < 1e-3, "query w mean %g sd %g", mean, sd);
    CHECK(L->attn_q_w->type == TW_TENSOR_F16 && L->attn_q_b->type == TW_TENSOR_F32);
    moments(L->mlp_0_b, &mean, &sd);
    CHECK_MSG(fabs(mean) < 3e-3 && fabs(sd - 0.02) < 3e-3, "mlp.0 bias mean %g sd %g", mean, sd);
  }
  CHECK(m->conv1_w->type == TW_TENSOR_F16 && m->conv1_b->type == TW_TENSOR_F32);
  CHECK(m->enc_pos_emb->type == TW_TENSOR_F32);
}

static void check_tiny(const tw_whisper_model *m) {
  int64_t n = 384;
  CHECK(m->hp.n_audio_state == 384 && m->hp.n_audio_layer == 2 && m->hp.n_text_layer == 2);
  CHECK(m->n_tensors == 7 + 15 * 2 + 4 + 24 * 2);
  check_shape(m->enc_pos_emb, 2, n, 1500, 1);
  check_shape(m->conv1_w, 3, 3, 80, n);
  check_shape(m->conv1_b, 2, 1, n, 1);
  check_shape(m->conv2_w, 3, 3, n, n);
  check_shape(m->conv2_b, 2, 1, n, 1);
  check_shape(m->enc_ln_post_w, 1, n, 1, 1);
  check_shape(m->enc_ln_post_b, 1, n, 1, 1);
  for (int l = 0; l < 2; l++) {
    const tw_encoder_layer *L = &m->enc_layers[l];
    check_shape(L->attn_ln_w, 1, n, 1, 1);
    check_shape(L->attn_ln_b, 1, n, 1, 1);
    check_shape(L->attn_q_w, 2, n, n, 1);
    check_shape(L->attn_q_b, 1, n, 1, 1);
    check_shape(L->attn_k_w, 2, n, n, 1);
    check_shape(L->attn_v_w, 2, n, n, 1);
    check_shape(L->attn_v_b, 1, n, 1, 1);
    check_shape(L->attn_out_w, 2, n, n, 1);
    check_shape(L->attn_out_b, 1, n, 1, 1);
    check_shape(L->mlp_ln_w, 1, n, 1, 1);
    check_shape(L->mlp_ln_b, 1, n, 1, 1);
    check_shape(L->mlp_0_w, 2, n, 4 * n, 1);
    check_shape(L->mlp_0_b, 1, 4 * n, 1, 1);
    check_shape(L->mlp_2_w, 2, 4 * n, n, 1);
    check_shape(L->mlp_2_b, 1, n, 1, 1);
  }
  check_shape(tw_whisper_model_find(m, "decoder.token_embedding.weight"), 2, n, 51865, 1);
  check_shape(tw_whisper_model_find(m, "decoder.blocks.1.cross_attn.key.weight"), 2, n, n, 1);
}

static int same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb, ca, cb;
  while (same && (ca = getc(fa)) != EOF) same = (cb = getc(fb)) == ca;
  if (same) same = getc(fb) == EOF;
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

static void test_synth_tiny(const char *path) {
  tw_synth_options o = {.size = "tiny", .n_layers = 2, .seed = 42};
  tw_errbuf err = {{0}};
  int rc = tw_whisper_synth_write(&o, path, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  tw_whisper_model *m = NULL;
  rc = tw_whisper_model_load(path, &m, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc) return;
  check_tiny(m);
  check_values(m);
  tw_whisper_model_free(m);
  /* same seed: same bytes; another seed: different weights */
  char other[] = "/tmp/tw_model2_XXXXXX";
  int fd = mkstemp(other);
  close(fd);
  CHECK(tw_whisper_synth_write(&o, other, &err) == 0);
  CHECK(same_file(path, other));
  o.seed = 43;
  CHECK(tw_whisper_synth_write(&o, other, &err) == 0);
  CHECK(!same_file(path, other));
  o.size = "huge";
  CHECK(tw_whisper_synth_write(&o, other, &err) == TW_EINVAL && strstr(err.msg, "huge"));
  unlink(other);
}

static void test_synth_header(void) {
  char path[] = "/tmp/tw_model3_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  const char *hdr = tw_test_data("for-tests-ggml-base.bin");
  tw_synth_options o = {.size = "base", .n_layers = 1, .seed = 7, .header_path = hdr};
  tw_errbuf err = {{0}};
  CHECK_MSG(tw_whisper_synth_write(&o, path, &err) == 0, "%s", err.msg);
  tw_whisper_model *m = NULL, *h = NULL;
  CHECK_MSG(tw_whisper_model_load(path, &m, &err) == 0, "%s", err.msg);
  CHECK(tw_whisper_model_load_ex(hdr, TW_LOAD_HEADER_ONLY, &h, &err) == 0);
  if (m && h) {
    CHECK(m->hp.n_audio_state == 512 && m->hp.n_audio_layer == 1);
    CHECK(m->n_vocab_file == h->n_vocab_file);
    CHECK(!memcmp(m->mel_filters, h->mel_filters, 80 * 201 * sizeof(float)));
    CHECK(m->token_lens[300] == h->token_lens[300] &&
          !memcmp(m->token_bytes[300], h->token_bytes[300], h->token_lens[300]));
  }
  tw_whisper_model_free(m);
  tw_whisper_model_free(h);
  o.size = "large-v3"; /* 128 mels cannot take an 80-bin header */
  CHECK(tw_whisper_synth_write(&o, path, &err) == TW_EINVAL && strstr(err.msg, "mel"));
  unlink(path);
}

/* Fails the n-th allocation of a load for every n until a load succeeds:
 * each failure must be TW_ENOMEM with nothing leaked (LeakSanitizer). */
static void test_alloc_failures(const char *path) {
  int done = 0;
  for (long n = 1; n < 64 && !done; n++) {
    tw_whisper_model *m = NULL;
    tw_errbuf err = {{0}};
    tw_mem_fail_after(n);
    int rc = tw_whisper_model_load(path, &m, &err);
    tw_mem_fail_after(0);
    CHECK_MSG(rc == 0 || (rc == TW_ENOMEM && m == NULL), "fail at %ld: rc %d %s", n, rc, err.msg);
    done = rc == 0;
    tw_whisper_model_free(m);
  }
  CHECK(done);
}

/* ---- malformed files --------------------------------------------------- */

static const char *const hp_names[11] = {"n_vocab",     "n_audio_ctx",   "n_audio_state",
                                         "n_audio_head", "n_audio_layer", "n_text_ctx",
                                         "n_text_state", "n_text_head",   "n_text_layer",
                                         "n_mels",       "ftype"};

static void test_corrupt_header(const char *path) {
  int fd = open(path, O_RDWR);
  put_i32_at(fd, 0, 0x67676d6d);
  expect_fail(path, "bad magic", "magic", NULL);
  restore(fd, 0, 4);
  for (int i = 0; i < 11; i++) {
    const int32_t bad[] = {-1, 0, 1 << 30};
    for (int k = 0; k < 3; k++) {
      if (i == 10 && k == 1) continue; /* ftype 0 is valid (f32) */
      put_i32_at(fd, 4 + 4 * (size_t)i, bad[k]);
      char what[64];
      snprintf(what, sizeof what, "hparam %s = %d", hp_names[i], bad[k]);
      expect_fail(path, what, hp_names[i], NULL);
      restore(fd, 4 + 4 * (size_t)i, 4);
    }
  }
  put_i32_at(fd, 4 + 4 * 3, 7); /* 384 heads of 7? */
  expect_fail(path, "state % heads", "divisible", NULL);
  restore(fd, 16, 4);
  put_i32_at(fd, 4 + 4 * 9, 128); /* n_mels 128 but filters are 80 x 201 */
  expect_fail(path, "n_mels vs filters", "mel filters", "offset 48");
  restore(fd, 40, 4);
  put_i32_at(fd, 4 + 4 * 10, 1012); /* ftype mostly-q4_K, quantisation version 1 */
  expect_fail(path, "k-quant ftype", "not supported", "q4_K");
  put_i32_at(fd, 4 + 4 * 10, 10);
  expect_fail(path, "k-quant ftype", "not supported", "q2_K");
  /* ftype only labels the file (each tensor has its own type): a q4_0 label
   * on f16 tensors loads */
  put_i32_at(fd, 4 + 4 * 10, 2002);
  tw_whisper_model *m = NULL;
  tw_errbuf err = {{0}};
  CHECK_MSG(tw_whisper_model_load(path, &m, &err) == 0 && m->hp.ftype == 2002, "%s", err.msg);
  tw_whisper_model_free(m);
  restore(fd, 44, 4);
  put_i32_at(fd, vocab_at, 1 << 20);
  expect_fail(path, "vocab size", "vocab", "offset");
  restore(fd, vocab_at, 4);
  put_i32_at(fd, vocab_at + 4, 0x7fffffff);
  expect_fail(path, "token length", "token", "offset");
  restore(fd, vocab_at + 4, 4);
  close(fd);
}

static void mutate_record(int fd, const char *path, const char *tensor, size_t field, int32_t v,
                          const char *want) {
  const record *r = find_rec(tensor);
  CHECK_MSG(r != NULL, "no record %s", tensor);
  if (!r) return;
  char what[128];
  snprintf(what, sizeof what, "%s field +%zu = %d", tensor, field, v);
  put_i32_at(fd, r->start + field, v);
  char at[48];
  snprintf(at, sizeof at, "offset %zu", r->start);
  expect_fail(path, what, want, field == 4 || field == 0 ? at : tensor);
  restore(fd, r->start + field, 4);
}

static void test_corrupt_tensors(const char *path) {
  int fd = open(path, O_RDWR);
  const char *q = "encoder.blocks.1.attn.query.weight";
  mutate_record(fd, path, q, 12, 383, "shape");       /* ne[0] */
  mutate_record(fd, path, q, 16, -5, "dimension");    /* negative ne[1] */
  mutate_record(fd, path, q, 8, 12, "q4_K");          /* a type we do not read */
  mutate_record(fd, path, "encoder.conv1.weight", 8, 8, "q8_0"); /* quantized 3-D */
  mutate_record(fd, path, "encoder.conv1.weight", 8, 1000, "unknown");
  mutate_record(fd, path, "encoder.ln_post.bias", 8, 1, "expected f32");
  mutate_record(fd, path, "decoder.blocks.0.mlp.0.weight", 12, 7, "shape");
  mutate_record(fd, path, q, 4, 0x7fffffff, "name length");
  mutate_record(fd, path, q, 4, -3, "name length");
  mutate_record(fd, path, q, 0, 5, "n_dims");
  mutate_record(fd, path, q, 0, 0, "n_dims");
  mutate_record(fd, path, q, 0, 1, "unknown tensor"); /* name read from the wrong place */
  const record *r = find_rec(q);
  if (r) { /* rename to an unknown tensor, then to a duplicate of block 0's */
    CHECK(pwrite(fd, "X", 1, (off_t)r->name_at) == 1);
    expect_fail(path, "unknown name", "unknown tensor 'Xncoder.blocks.1.attn.query.weight'",
                NULL);
    CHECK(pwrite(fd, "encoder.blocks.0", 16, (off_t)r->name_at) == 16);
    expect_fail(path, "duplicate", "duplicate tensor 'encoder.blocks.0.attn.query.weight'", NULL);
    restore(fd, r->name_at, 16);
  }
  close(fd);
  /* a file without one encoder tensor */
  r = find_rec("encoder.blocks.1.attn.key.weight");
  if (!r) return;
  char other[] = "/tmp/tw_model4_XXXXXX";
  fd = mkstemp(other);
  CHECK(write(fd, file_bytes, r->start) == (ssize_t)r->start);
  size_t rest = file_size - r->end;
  CHECK(write(fd, file_bytes + r->end, rest) == (ssize_t)rest);
  close(fd);
  expect_fail(other, "missing tensor", "missing tensor 'encoder.blocks.1.attn.key.weight'", NULL);
  unlink(other);
}

static int cmp_desc(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Cuts the file at every section and field boundary and at random offsets,
 * longest first, truncating one file in place. */
static void test_truncations(const char *path) {
  size_t cuts[4096], n = 0;
  const size_t fixed[] = {0, 1, 3, 4, 20, 47, 48, 52, 56, 57, vocab_at, vocab_at + 2, vocab_at + 4,
                          vocab_at + 6, vocab_at + 9, vocab_end - 1};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cuts[n++] = fixed[i];
  size_t enc_end = 0;
  for (size_t i = 0; i < n_recs; i++) {
    const record *r = &recs[i];
    if (!strncmp(r->name, "encoder.", 8)) enc_end = r->end;
    size_t at[] = {r->start, r->start + 2, r->start + 4, r->start + 8, r->dims_at, r->dims_at + 4,
                   r->name_at, r->name_at + 3, r->data_at, r->data_at + 1, r->end - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) cuts[n++] = at[k];
  }
  tw_rng rng = {2024};
  for (int i = 0; i < 300; i++) cuts[n++] = (size_t)(tw_rng_uniform(&rng) * (double)file_size);
  qsort(cuts, n, sizeof cuts[0], cmp_desc);
  int fails = 0;
  for (size_t i = 0; i < n; i++) {
    if (i && cuts[i] == cuts[i - 1]) continue;
    if (truncate(path, (off_t)cuts[i]) != 0) continue;
    tw_whisper_model *m = NULL;
    tw_errbuf err = {{0}};
    int rc = tw_whisper_model_load(path, &m, &err);
    /* the one legal cut: exactly after the encoder (a decoder-less model) */
    int ok = cuts[i] == enc_end ? rc == 0
                                : rc < 0 && (strstr(err.msg, "offset") || strstr(err.msg, "tensor"));
    if (!ok && fails++ < 10) fprintf(stderr, "cut at %zu: rc %d '%s'\n", cuts[i], rc, err.msg);
    CHECK(ok);
    tw_whisper_model_free(m);
  }
}

int main(void) {
  test_header_only();
  char path[] = "/tmp/tw_model_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  test_synth_tiny(path);
  test_alloc_failures(path);
  test_synth_header();
  if (read_file(path) == 0) {
    walk();
    CHECK(n_recs == 7 + 15 * 2 + 4 + 24 * 2);
    test_corrupt_header(path);
    test_corrupt_tensors(path);
    test_truncations(path);
  }
  free(file_bytes);
  unlink(path);
  return tw_test_finish("test_model_load");
}

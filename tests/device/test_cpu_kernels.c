/* cpu microkernels, each kernel set this CPU runs: every m <= MR, n <= NR,
 * several odd k, beta 0 (C not read: it holds NaN) and 1, with and without
 * bias; the small-M kernels likewise.  Panels are packed here by hand from
 * the layout in docs/microkernel.md; expected values are fp64 sums. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/cpu/cpu.h"
#include "kernels/ukernel.h"
#include "tw_test.h"

static const char *const isas[] = {"generic", "avx2", "avx512", "avx512bf16", "amx"};

/* |x - ref| within the fp32 bound (k + 3) u sum|terms|. */
static int close_enough(float x, double ref, double abs_sum, size_t k) {
  double tol = (double)(k + 3) * 0x1p-24 * abs_sum + 1e-30;
  return fabs((double)x - ref) <= tol;
}

/* B (k x nr, fp32 values) into a packed panel of the given storage, in the
 * set's bf16 layout (a k-pair panel gets a zero row when k is odd). */
static void pack_panel(const float *b, size_t k, int nr, int bf16, int pairs, void *out) {
  if (bf16 && pairs && (k & 1))
    memset((tw_bf16 *)out + k * (size_t)nr, 0, (size_t)nr * sizeof(tw_bf16));
  for (size_t p = 0; p < k; p++)
    for (int j = 0; j < nr; j++) {
      float v = b[p * (size_t)nr + (size_t)j];
      if (bf16)
        ((tw_bf16 *)out)[tw_cpu_bf16_index(p, j, nr, pairs)] = tw_fp32_to_bf16(v);
      else
        ((float *)out)[p * (size_t)nr + (size_t)j] = v;
    }
}

static void test_ukr(const tw_cpu_kernels *ks, tw_rng *rng) {
  static const size_t ks_list[] = {1, 2, 7, 33, 129};
  const int mr = ks->mr, nr = ks->nr;
  const size_t ldc = (size_t)nr + 5;
  for (size_t ki = 0; ki < sizeof ks_list / sizeof ks_list[0]; ki++) {
    size_t k = ks_list[ki];
    float *a = malloc(k * (size_t)mr * sizeof *a), *b = malloc(k * (size_t)nr * sizeof *b);
    float *bq = malloc(k * (size_t)nr * sizeof *bq);
    void *bp = malloc((k + 1) * (size_t)nr * sizeof(float));
    float c[TW_CPU_MAX_MR * (TW_CPU_MAX_NR + 5)], c0[TW_CPU_MAX_MR * (TW_CPU_MAX_NR + 5)];
    float bias[TW_CPU_MAX_NR];
    tw_fill_uniform(rng, a, k * (size_t)mr, -1.0f, 1.0f);
    tw_fill_uniform(rng, b, k * (size_t)nr, -1.0f, 1.0f);
    tw_fill_uniform(rng, bias, (size_t)nr, -1.0f, 1.0f);
    for (int bf16 = 0; bf16 <= 1; bf16++) {
      pack_panel(b, k, nr, bf16, ks->bf16_pairs, bp);
      for (size_t i = 0; i < k * (size_t)nr; i++) bq[i] = bf16 ? tw_round_bf16(b[i]) : b[i];
      tw_ukr_fn ukr = bf16 ? ks->ukr_bf16 : ks->ukr_f32;
      for (int m = 1; m <= mr; m++)
        for (int n = 1; n <= nr; n++)
          for (int mode = 0; mode < 4; mode++) {
            int acc = mode & 1;
            const float *bb = (mode & 2) ? bias : NULL;
            for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
              c[i] = c0[i] = acc ? (float)tw_rng_uniform(rng) : NAN;
            ukr(k, a, bp, c, ldc, m, n, acc, bb);
            int bad = 0;
            for (int i = 0; i < mr; i++)
              for (int j = 0; j < (int)ldc; j++) {
                size_t at = (size_t)i * ldc + (size_t)j;
                if (i >= m || j >= n) {
                  /* outside the m x n corner: untouched (NaN stays NaN) */
                  if (memcmp(&c[at], &c0[at], sizeof c[at]) != 0) bad++;
                  continue;
                }
                double s = 0, abs_sum = 0;
                for (size_t p = 0; p < k; p++) {
                  double t = (double)a[p * (size_t)mr + (size_t)i] * bq[p * (size_t)nr + (size_t)j];
                  s += t;
                  abs_sum += fabs(t);
                }
                if (acc) s += c0[at], abs_sum += fabs(c0[at]);
                if (bb) s += bb[j], abs_sum += fabs(bb[j]);
                if (!close_enough(c[at], s, abs_sum, k)) bad++;
              }
            CHECK_MSG(bad == 0, "%s ukr %s m=%d n=%d k=%zu acc=%d bias=%d: %d bad", ks->isa,
                      bf16 ? "bf16" : "f32", m, n, k, acc, bb != NULL, bad);
          }
    }
    free(a);
    free(b);
    free(bq);
    free(bp);
  }
}

/* Entries of a small-M result c (rows x ldc, NaN-filled before the call)
 * that are wrong: the m x n written ones against the fp64 product of A (row
 * stride lda) and bq (k x nr) plus bias, and any other entry not NaN. */
static int gemv_bad(const float *c, int rows, size_t ldc, int m, int n, const float *a,
                    size_t lda, const float *bq, int nr, size_t k, const float *bias) {
  int bad = 0;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < (int)ldc; j++) {
      float x = c[(size_t)i * ldc + (size_t)j];
      if (i >= m || j >= n) {
        if (!isnan(x)) bad++;
        continue;
      }
      double s = 0, abs_sum = 0;
      for (size_t p = 0; p < k; p++) {
        double t = (double)a[(size_t)i * lda + p] * bq[p * (size_t)nr + (size_t)j];
        s += t;
        abs_sum += fabs(t);
      }
      if (bias) s += bias[j], abs_sum += fabs(bias[j]);
      if (!close_enough(x, s, abs_sum, k)) bad++;
    }
  return bad;
}

static void test_gemv(const tw_cpu_kernels *ks, tw_rng *rng) {
  static const size_t ks_list[] = {1, 3, 5, 37, 300};
  const int nr = ks->nr;
  const size_t lda = 301 + 3, ldc = (size_t)nr + 3;
  float a[TW_CPU_GEMV_MAX_M * (301 + 3)], bias[TW_CPU_MAX_NR];
  tw_fill_uniform(rng, a, sizeof a / sizeof a[0], -1.0f, 1.0f);
  tw_fill_uniform(rng, bias, (size_t)nr, -1.0f, 1.0f);
  for (size_t ki = 0; ki < sizeof ks_list / sizeof ks_list[0]; ki++) {
    size_t k = ks_list[ki];
    float *b = malloc(k * (size_t)nr * sizeof *b), *bq = malloc(k * (size_t)nr * sizeof *bq);
    void *bp = malloc((k + 1) * (size_t)nr * sizeof(float));
    tw_fill_uniform(rng, b, k * (size_t)nr, -1.0f, 1.0f);
    for (int bf16 = 0; bf16 <= 1; bf16++) {
      pack_panel(b, k, nr, bf16, ks->bf16_pairs, bp);
      for (size_t i = 0; i < k * (size_t)nr; i++) bq[i] = bf16 ? tw_round_bf16(b[i]) : b[i];
      tw_gemv_fn gemv = bf16 ? ks->gemv_bf16 : ks->gemv_f32;
      for (int m = 1; m <= TW_CPU_GEMV_MAX_M; m++)
        for (int n = 1; n <= nr; n++)
          for (int with_bias = 0; with_bias <= 1; with_bias++) {
            float c[TW_CPU_GEMV_MAX_M * (TW_CPU_MAX_NR + 3)];
            for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) c[i] = NAN;
            gemv(m, k, a, lda, bp, c, ldc, n, with_bias ? bias : NULL);
            int bad = gemv_bad(c, TW_CPU_GEMV_MAX_M, ldc, m, n, a, lda, bq, nr, k,
                               with_bias ? bias : NULL);
            CHECK_MSG(bad == 0, "%s gemv %s m=%d n=%d k=%zu bias=%d: %d bad", ks->isa,
                      bf16 ? "bf16" : "f32", m, n, k, with_bias, bad);
          }
    }
    free(b);
    free(bq);
    free(bp);
  }
}

/* The small-M dot-product kernel: A rounded to bf16 and packed as k-pairs
 * here (low half = even k), zero past k and in the rows the set reads past
 * 8, B in the k-pair layout, 1..8 rows, odd k (the high half of the last
 * pair is 0), k past one and several 32-k tile steps, every n, with and
 * without bias;
 * expected from the rounded values in fp64; unwritten C stays NaN. */
static void test_gemv_dp(const tw_cpu_kernels *ks, tw_rng *rng) {
  if (!ks->gemv_dp) return;
  enum { MM = TW_CPU_STREAM_MAX_M, LDW = 160 };
  static const size_t ks_list[] = {1, 2, 5, 32, 38, 64, 301};
  const int nr = ks->nr;
  const size_t ldc = (size_t)nr + 3;
  float a[MM * 301], bias[TW_CPU_MAX_NR];
  /* the set's A layout (cpu.h): AMX reads 16 rows, zero past k to 32 k */
  uint32_t ap[TW_CPU_AMX_GEMV_ROWS * LDW];
  const size_t a_rows = tw_cpu_gemv_dp_rows(ks, MM);
  CHECK(a_rows <= TW_CPU_AMX_GEMV_ROWS && tw_cpu_gemv_dp_words(ks, 301) <= LDW);
  memset(ap, 0, sizeof ap);
  tw_fill_uniform(rng, a, sizeof a / sizeof a[0], -1.0f, 1.0f);
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) a[i] = tw_round_bf16(a[i]);
  tw_fill_uniform(rng, bias, (size_t)nr, -1.0f, 1.0f);
  for (size_t ki = 0; ki < sizeof ks_list / sizeof ks_list[0]; ki++) {
    size_t k = ks_list[ki];
    memset(ap, 0, sizeof ap);
    for (int i = 0; i < MM; i++)
      for (size_t q = 0; q < (k + 1) / 2; q++) {
        uint32_t lo = tw_fp32_to_bf16(a[i * 301 + 2 * q]);
        uint32_t hi = 2 * q + 1 < k ? tw_fp32_to_bf16(a[i * 301 + 2 * q + 1]) : 0;
        ap[i * LDW + q] = lo | hi << 16;
      }
    float *b = malloc(k * (size_t)nr * sizeof *b), *bq = malloc(k * (size_t)nr * sizeof *bq);
    void *bp = malloc((k + 1) * (size_t)nr * sizeof(float));
    tw_fill_uniform(rng, b, k * (size_t)nr, -1.0f, 1.0f);
    pack_panel(b, k, nr, 1, ks->bf16_pairs, bp);
    for (size_t i = 0; i < k * (size_t)nr; i++) bq[i] = tw_round_bf16(b[i]);
    for (int m = 1; m <= MM; m++)
      for (int n = 1; n <= nr; n += (n < 3 || n > nr - 3) ? 1 : 7)
        for (int with_bias = 0; with_bias <= 1; with_bias++) {
          float c[MM * (TW_CPU_MAX_NR + 3)];
          for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) c[i] = NAN;
          ks->gemv_dp(m, k, ap, LDW, bp, c, ldc, n, with_bias ? bias : NULL);
          int bad = gemv_bad(c, MM, ldc, m, n, a, 301, bq, nr, k, with_bias ? bias : NULL);
          CHECK_MSG(bad == 0, "%s gemv_dp m=%d n=%d k=%zu bias=%d: %d bad", ks->isa, m, n, k,
                    with_bias, bad);
        }
    free(b), free(bq), free(bp);
  }
}


/* The A panel layout of a set's ukr_dp, written here from the contract
 * (ukernel.h) as the reference for its packer: k-pair words a[q*MR + i]
 * (kpad 2), or with kpad_dp 32 (AMX) blocks of 32 k holding MR rows of 32
 * bf16 each; bf16 of A[i][p] (RNE), zero past kc and past `rows`. */
static void pack_dp_ref(const tw_cpu_kernels *ks, const void *a, int a_bf16, size_t lda,
                        size_t rows, size_t kc, uint32_t *dst) {
  const size_t mr = tw_cpu_dp_mr(ks), words = tw_cpu_dp_panel_words(ks, kc);
  tw_bf16 *d = (tw_bf16 *)(void *)dst;
  memset(dst, 0, words * sizeof *dst);
  for (size_t i = 0; i < rows; i++)
    for (size_t p = 0; p < kc; p++) {
      tw_bf16 v = a_bf16 ? ((const tw_bf16 *)a)[i * lda + p]
                         : tw_fp32_to_bf16(((const float *)a)[i * lda + p]);
      size_t at = ks->kpad_dp == 32 ? (p / 32 * mr + i) * 32 + p % 32 : (p / 2 * mr + i) * 2 + p % 2;
      d[at] = v;
    }
}

/* The bf16 x bf16 kernel: A packed by the reference above (from fp32, so
 * rounded), B in the k-pair layout; expected from the rounded values in
 * fp64.  k covers one pair, odd tails, and for AMX partial, whole and
 * several 32-k steps. */
static void test_ukr_dp(const tw_cpu_kernels *ks, tw_rng *rng) {
  if (!ks->ukr_dp) return;
  static const size_t ks_list[] = {1, 2, 7, 31, 32, 33, 64, 128, 130};
  const int mr = (int)tw_cpu_dp_mr(ks), nr = ks->nr;
  const size_t ldc = (size_t)nr + 5;
  for (size_t ki = 0; ki < sizeof ks_list / sizeof ks_list[0]; ki++) {
    size_t k = ks_list[ki];
    float *a = malloc(k * (size_t)mr * sizeof *a), *b = malloc(k * (size_t)nr * sizeof *b);
    uint32_t *ap = malloc(tw_cpu_dp_panel_words(ks, k) * sizeof *ap);
    void *bp = malloc((k + 1) * (size_t)nr * sizeof(tw_bf16));
    float c[TW_CPU_MAX_MR_DP * (TW_CPU_MAX_NR + 5)], c0[TW_CPU_MAX_MR_DP * (TW_CPU_MAX_NR + 5)];
    float bias[TW_CPU_MAX_NR];
    tw_fill_uniform(rng, a, k * (size_t)mr, -1.0f, 1.0f); /* row-major mr x k */
    tw_fill_uniform(rng, b, k * (size_t)nr, -1.0f, 1.0f);
    tw_fill_uniform(rng, bias, (size_t)nr, -1.0f, 1.0f);
    pack_panel(b, k, nr, 1, 1, bp);
    pack_dp_ref(ks, a, 0, k, (size_t)mr, k, ap);
    for (int m = 1; m <= mr; m++)
      for (int n = 1; n <= nr; n += (n < 3 || n > nr - 3) ? 1 : 5)
        for (int mode = 0; mode < 4; mode++) {
          int acc = mode & 1;
          const float *bb = (mode & 2) ? bias : NULL;
          for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
            c[i] = c0[i] = acc ? (float)tw_rng_uniform(rng) : NAN;
          ks->ukr_dp(k, ap, bp, c, ldc, m, n, acc, bb);
          int bad = 0;
          for (int i = 0; i < mr; i++)
            for (int j = 0; j < (int)ldc; j++) {
              size_t at = (size_t)i * ldc + (size_t)j;
              if (i >= m || j >= n) {
                if (memcmp(&c[at], &c0[at], sizeof c[at]) != 0) bad++;
                continue;
              }
              double s = 0, abs_sum = 0;
              for (size_t p = 0; p < k; p++) {
                double t = (double)tw_round_bf16(a[(size_t)i * k + p]) *
                           tw_round_bf16(b[p * (size_t)nr + (size_t)j]);
                s += t;
                abs_sum += fabs(t);
              }
              if (acc) s += c0[at], abs_sum += fabs(c0[at]);
              if (bb) s += bb[j], abs_sum += fabs(bb[j]);
              if (!close_enough(c[at], s, abs_sum, k)) bad++;
            }
          CHECK_MSG(bad == 0, "%s ukr_dp m=%d n=%d k=%zu acc=%d bias=%d: %d bad", ks->isa, m, n,
                    k, acc, bb != NULL, bad);
        }
    free(a);
    free(b);
    free(ap);
    free(bp);
  }
}

/* A packer's source: the values already in a, with specials (ties, NaN,
 * inf, -0, the largest finite, a subnormal) planted 13 apart, and their
 * bf16 in ab. */
static void pack_source(float *a, tw_bf16 *ab, size_t n) {
  static const uint32_t specials[] = {0x3f808000u, 0x3f818000u, 0x7fc00001u, 0xff800001u,
                                      0x7f800000u, 0x80000000u, 0x7f7fffffu, 0x00000001u};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
    memcpy(&a[i * 13 % n], &specials[i], 4);
  for (size_t i = 0; i < n; i++) ab[i] = tw_fp32_to_bf16(a[i]);
}

/* A set's own packer gives the same bits as the portable one: fp32 A with
 * and without bf16 rounding (ties, NaN, inf, -0 included), bf16 A, every
 * row count, column counts around the vector width. */
static void test_pack_a(const tw_cpu_kernels *ks, tw_rng *rng) {
  if (!ks->pack_a) return;
  static const size_t kcs[] = {1, 5, 15, 16, 17, 33, 100};
  const int mr = ks->mr;
  const size_t lda = 107;
  float a[TW_CPU_MAX_MR * 107];
  tw_bf16 ab[TW_CPU_MAX_MR * 107];
  tw_fill_uniform(rng, a, sizeof a / sizeof a[0], -3.0f, 3.0f);
  pack_source(a, ab, sizeof a / sizeof a[0]);
  float got[TW_CPU_MAX_MR * 100], want[TW_CPU_MAX_MR * 100];
  for (size_t ki = 0; ki < sizeof kcs / sizeof kcs[0]; ki++)
    for (int rows = 1; rows <= mr; rows++)
      for (int mode = 0; mode < 3; mode++) {
        size_t kc = kcs[ki];
        const void *src = mode == 2 ? (const void *)(ab + 2) : (const void *)(a + 2);
        memset(got, 0x55, sizeof got);
        memset(want, 0x55, sizeof want);
        ks->pack_a(src, mode == 2, lda, mode == 1, (size_t)rows, kc, got);
        tw_cpu_pack_a_panel(src, mode == 2, lda, mode == 1, (size_t)rows, kc, mr, want);
        CHECK_MSG(memcmp(got, want, sizeof got) == 0, "%s pack_a rows=%d kc=%zu mode=%d", ks->isa,
                  rows, kc, mode);
      }
}

/* A set's packer for its dot-product kernel gives the reference layout's
 * bits (pack_dp_ref; the portable packer too where the layout is the
 * k-pairs): from fp32 (specials included) and bf16, every row count,
 * depths around the 32-k steps; words past the panel stay untouched. */
static void test_pack_dp(const tw_cpu_kernels *ks, tw_rng *rng) {
  if (!ks->pack_a_pairs) return;
  static const size_t kcs[] = {1, 5, 15, 16, 17, 31, 32, 33, 100};
  const size_t lda = 107, mr = tw_cpu_dp_mr(ks);
  static float a[TW_CPU_MAX_MR_DP * 107];
  static tw_bf16 ab[TW_CPU_MAX_MR_DP * 107];
  tw_fill_uniform(rng, a, sizeof a / sizeof a[0], -3.0f, 3.0f);
  pack_source(a, ab, sizeof a / sizeof a[0]);
  static uint32_t gw[TW_CPU_MAX_MR_DP * 64 + 16], ww[TW_CPU_MAX_MR_DP * 64 + 16], pw[TW_CPU_MAX_MR_DP * 64 + 16];
  for (size_t ki = 0; ki < sizeof kcs / sizeof kcs[0]; ki++)
    for (size_t rows = 1; rows <= mr; rows++)
      for (int bf = 0; bf < 2; bf++) {
        size_t kc = kcs[ki], words = tw_cpu_dp_panel_words(ks, kc);
        const void *src = bf ? (const void *)(ab + 2) : (const void *)(a + 2);
        memset(gw, 0x55, sizeof gw);
        memset(ww, 0x55, sizeof ww);
        ks->pack_a_pairs(src, bf, lda, rows, kc, gw);
        pack_dp_ref(ks, src, bf, lda, rows, kc, ww);
        CHECK_MSG(memcmp(gw, ww, sizeof gw) == 0, "%s pack_a_pairs rows=%zu kc=%zu bf16=%d (%zu words)",
                  ks->isa, rows, kc, bf, words);
        if (ks->kpad_dp && ks->kpad_dp != 2) continue;
        memset(pw, 0x55, sizeof pw);
        tw_cpu_pack_a_pairs_panel(src, bf, lda, rows, kc, (int)mr, pw);
        CHECK_MSG(memcmp(pw, ww, sizeof pw) == 0, "portable pack_a_pairs rows=%zu kc=%zu bf16=%d",
                  rows, kc, bf);
      }
}

int main(void) {
  tw_rng rng = {12345};
  int ran = 0;
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    tw_cpu_kernels ks;
    if (tw_cpu_kernels_select(isas[i], &ks)) {
      printf("kernel set %s: not available on this CPU, skipped\n", isas[i]);
      continue;
    }
    CHECK(strcmp(ks.isa, isas[i]) == 0);
    CHECK(ks.mr >= 1 && ks.mr <= TW_CPU_MAX_MR && ks.nr >= 2 && ks.nr <= TW_CPU_MAX_NR &&
          ks.nr % 2 == 0);
    CHECK(tw_cpu_dp_mr(&ks) <= TW_CPU_MAX_MR_DP); /* the GEMM's stack tile holds a block */
    test_ukr(&ks, &rng);
    test_gemv(&ks, &rng);
    test_pack_a(&ks, &rng);
    test_ukr_dp(&ks, &rng);
    test_pack_dp(&ks, &rng);
    if (ks.dp_end) ks.dp_end();
    test_gemv_dp(&ks, &rng);
    ran++;
  }
  CHECK(ran >= 1);
  tw_cpu_kernels ks;
  CHECK(tw_cpu_kernels_select("no-such-isa", &ks) == -1);
  return tw_test_finish("test_cpu_kernels");
}

/* Kernel sets as data: the portable set first, then the ISA overrides the CPU
 * supports; TW_CPU_KERNEL (read by the device) forces one by name. */
#include "kernels/ukernel.h"

#include <string.h>

static const tw_cpu_kernels generic_set = {
    .isa = "generic",
    .family = "generic",
    .mr = 6,
    .nr = 16,
    .ukr_f32 = tw_gemm_generic_f32f32_6x16,
    .ukr_bf16 = tw_gemm_generic_bf16f32_6x16,
    .gemv_f32 = tw_gemv_generic_f32f32_4x16,
    .gemv_bf16 = tw_gemv_generic_bf16f32_4x16,
};

#if defined(__x86_64__) || defined(__i386__)
#define TW_CPU_X86 1
static const tw_cpu_kernels avx2_set = {
    .isa = "avx2",
    .family = "avx2",
    .mr = 6,
    .nr = 16,
    .ukr_f32 = tw_gemm_avx2_f32f32_6x16,
    .ukr_bf16 = tw_gemm_avx2_bf16f32_6x16,
    .gemv_f32 = tw_gemv_avx2_f32f32_4x16,
    .gemv_bf16 = tw_gemv_avx2_bf16f32_4x16,
    .pack_a = tw_pack_a_avx2_6,
};
/* The avx512 family's FMA kernels, NR and bf16 layout: every set of the
 * family has them (so the family's packed weights are the same). */
#define AVX512_FAMILY                                                                 \
  .family = "avx512", .mr = 14, .nr = 32, .ukr_f32 = tw_gemm_avx512_f32f32_14x32,     \
  .ukr_bf16 = tw_gemm_avx512_bf16f32_14x32, .gemv_f32 = tw_gemv_avx512_f32f32_4x32,   \
  .gemv_bf16 = tw_gemv_avx512_bf16f32_4x32, .pack_a = tw_pack_a_avx512_14, .bf16_pairs = 1

static const tw_cpu_kernels avx512_set = {
    .isa = "avx512",
    AVX512_FAMILY,
};
/* avx512 plus VDPBF16PS for calls that compute in bf16 with bf16 weights. */
static const tw_cpu_kernels avx512bf16_set = {
    .isa = "avx512bf16",
    AVX512_FAMILY,
    .ukr_dp = tw_gemm_avx512bf16_bf16f32_14x32,
    .pack_a_pairs = tw_pack_a_pairs_avx512_14,
    .gemv_dp = tw_gemv_avx512bf16_bf16bf16_8x32,
};
/* avx512bf16 with the dot-product kernels on the AMX tile unit: the GEMM
 * 32 x 32 per call on its own A panels, the small-M path 16 rows per tile. */
static const tw_cpu_kernels amx_set = {
    .isa = "amx",
    AVX512_FAMILY,
    .ukr_dp = tw_gemm_amx_bf16f32_32x32,
    .pack_a_pairs = tw_pack_a_amx_32,
    .gemv_dp = tw_gemv_amx_bf16bf16_16x32,
    .mr_dp = 32,
    .kpad_dp = 32,
    .dp_end = tw_amx_release,
    .gemv_dp_rows = TW_CPU_AMX_GEMV_ROWS,
};
#endif

typedef struct set_entry {
  const tw_cpu_kernels *set;
  int (*supported)(void);
} set_entry;

static int always(void) { return 1; }

#ifdef TW_CPU_X86
static int has_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}
/* The avx512 folder is compiled for F, BW, VL and DQ; F16 sources still
 * use the AVX2 converter, so AVX2 is required as well. */
static int has_avx512(void) {
  __builtin_cpu_init();
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
static int has_avx512bf16(void) {
  __builtin_cpu_init();
  return has_avx512() && __builtin_cpu_supports("avx512bf16");
}
static int has_amx(void) { return has_avx512bf16() && tw_amx_usable(); }
#endif

/* Best last: selection keeps the last supported entry. */
static const set_entry sets[] = {
    {&generic_set, always},
#ifdef TW_CPU_X86
    {&avx2_set, has_avx2},
    {&avx512_set, has_avx512},
    {&avx512bf16_set, has_avx512bf16},
    {&amx_set, has_amx},
#endif
};

int tw_cpu_kernels_select(const char *force, tw_cpu_kernels *out) {
  const tw_cpu_kernels *best = NULL;
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    if (force && *force && strcmp(force, sets[i].set->isa) != 0) continue;
    if (sets[i].supported()) best = sets[i].set;
  }
  if (!best) return -1;
  *out = *best;
  return 0;
}

int tw_cpu_kernels_usable(const tw_cpu_kernels **out, int cap) {
  int n = 0;
  for (size_t i = 0; i < sizeof sets / sizeof sets[0] && n < cap; i++)
    if (sets[i].supported()) out[n++] = sets[i].set;
  return n;
}

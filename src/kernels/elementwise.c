/* Which element-wise kernel bodies this CPU runs (kernels/elementwise.h).
 * Compiled for the baseline ISA. */
#include "kernels/elementwise.h"

/* AVX-512 F, BW, VL and DQ: what the avx512 bodies use. */
static int has_avx512(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
  return 0;
#endif
}

tw_gelu_row_fn tw_gelu_row_kernel(void) {
#if defined(__x86_64__)
  if (has_avx512()) return tw_gelu_row_avx512;
#endif
  return tw_gelu_row_generic;
}

void tw_pair_cols(const float *c, size_t ldc, size_t m, size_t pairs, uint32_t *dst,
                  size_t ld_dst) {
#if defined(__x86_64__)
  if (has_avx512()) {
    tw_pair_cols_avx512(c, ldc, m, pairs, dst, ld_dst);
    return;
  }
#endif
  tw_pair_cols_generic(c, ldc, m, pairs, dst, ld_dst);
}

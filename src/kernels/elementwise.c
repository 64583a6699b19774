/* Which element-wise kernel bodies this CPU runs (kernels/elementwise.h).
 * Compiled for the baseline ISA. */
#include "kernels/elementwise.h"

tw_gelu_row_fn tw_gelu_row_kernel(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return tw_gelu_row_avx512;
#endif
  return tw_gelu_row_generic;
}

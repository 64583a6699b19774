/* The GELU epilogue of tw_gemm_ex: C = GELU(A.W + bias) on every device
 * kind that runs it (cpu fuses it per block, in the blocked and the small-M
 * paths, with one KC block and several, at 1 and 2 threads; the planned devices get it from the engine
 * after the product), against an fp64 reference computed here from the
 * bf16-rounded operands and erf; an unknown epilogue is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tw_test.h"
#include "tilewhisper/gemm.h"


static void run(const char *device, int threads, size_t M, size_t K, size_t N) {
  tw_stream *s = NULL;
  tw_device *dev = tw_test_open_device(device, threads, &s);
  if (!dev) return;
  int rc;
  float *a = malloc(M * K * sizeof *a), *w = malloc(K * N * sizeof *w), *b = malloc(N * 4);
  float *c = malloc(M * N * sizeof *c);
  tw_rng r = {M * 131 + K * 7 + N};
  tw_fill_uniform(&r, a, M * K, -1.0f, 1.0f);
  tw_fill_uniform(&r, w, K * N, -0.2f, 0.2f);
  tw_fill_uniform(&r, b, N, -1.0f, 1.0f);
  tw_weight_desc d = {.data = w, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N, .bias = b};
  tw_weight *wt = NULL;
  rc = tw_weight_prepare(dev, &d, &wt);
  CHECK_MSG(rc == TW_OK, "%s: prepare: %s", device, tw_device_last_error(dev));
  tw_gemm_options go = {.epilogue = TW_EPILOGUE_GELU};
  if (!rc) rc = tw_gemm_ex(s, M, K, a, TW_DTYPE_F32, K, wt, c, N, &go, NULL);
  CHECK_MSG(rc == TW_OK, "%s %zux%zux%zu: %s", device, M, K, N, tw_stream_last_error(s));
  double worst = 0;
  for (size_t i = 0; i < M && !rc; i++)
    for (size_t j = 0; j < N; j++) {
      double acc = 0, mag = 0;
      for (size_t p = 0; p < K; p++) {
        double t = tw_test_bf16_round(a[i * K + p]) * tw_test_bf16_round(w[p * N + j]);
        acc += t, mag += fabs(t);
      }
      acc += b[j], mag += fabs(b[j]);
      double want = 0.5 * acc * (1.0 + erf(acc / sqrt(2.0)));
      /* the product's fp32 sums (K u mag), then GELU's 3e-7 relative and
       * its slope (<= 1.13) on the product's error */
      double bound = 1.13 * (K + 2) * 6e-8 * mag + 3e-7 * fabs(acc) + 1e-30;
      double e = fabs(c[i * N + j] - want) / bound;
      if (e > worst) worst = e;
    }
  CHECK_MSG(worst <= 1.0, "%s %d threads %zux%zux%zu: worst error %.2f of the bound", device,
            threads, M, K, N, worst);
  go.epilogue = 7;
  CHECK(tw_gemm_ex(s, M, K, a, TW_DTYPE_F32, K, wt, c, N, &go, NULL) == TW_EINVAL);
  tw_weight_destroy(wt);
  free(a), free(w), free(b), free(c);
  tw_stream_destroy(s);
  tw_device_destroy(dev);
}

int main(void) {
  for (int t = 1; t <= 2; t++) {
    run("cpu", t, 70, 96, 130); /* blocked path, edges in M and N */
    run("cpu", t, 5, 96, 130);  /* small M */
    /* K over one KC block (512): the epilogue on C in place after the
     * last block; above, one block goes through the stack tile */
    run("cpu", t, 40, 700, 64);
  }
  run("ref", 1, 9, 64, 70);
  run("fixed", 1, 70, 96, 130);
  return tw_test_finish("test_gemm_epilogue");
}

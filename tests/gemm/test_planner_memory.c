/* The planner counts every resident weight against the device's memory: with
 * a 4 MiB weight kept on an 8 MiB emu, a 3001x512x512 product with the
 * seed's 64x64x64 tiles and the host K loop must choose a batch whose
 * partial-tile slots still fit (A 3 MiB + its own weight 0.5 MiB leave
 * about 0.56 MiB, i.e. at most 18 pairs of 16 KiB tiles), and run.  A
 * submission cost makes the planner want batches as large as memory allows. */
#include <stdlib.h>

#include "gemm/context.h"
#include "tw_test.h"

int main(void) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = "emu";
  o.options = "mem_mb=8,submit_us=1000"; /* submissions cost: batches want to grow */
  o.threads = 1;
  tw_device *dev = NULL;
  int rc = tw_device_create(&o, &dev);
  CHECK_MSG(rc == TW_OK, "emu: %s", tw_last_error());
  if (rc) return tw_test_finish("test_planner_memory");
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  tw_stream *stream = NULL;
  rc = tw_stream_create(dev, &so, &stream);
  CHECK_MSG(rc == TW_OK, "stream: %s", tw_last_error());
  if (rc) {
    tw_device_destroy(dev);
    return tw_test_finish("test_planner_memory");
  }

  enum { BK = 2048, BN = 1024, M = 3001, K = 512, N = 512 };
  float *big = calloc((size_t)BK * BN, sizeof(float));
  float *a = calloc((size_t)M * K, sizeof(float)), *w = calloc((size_t)K * N, sizeof(float));
  float *c = calloc((size_t)M * N, sizeof(float));
  for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 3);
  for (size_t i = 0; i < (size_t)K * N; i++) w[i] = (float)(i % 5) - 2.0f;
  tw_weight_desc bd = {.data = big, .dtype = TW_DTYPE_F32, .k = BK, .n = BN, .ld = BN,
                       .name = "resident"};
  tw_weight_desc wd = {.data = w, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N, .name = "w"};
  tw_weight *wbig = NULL, *wt = NULL;
  CHECK(tw_weight_prepare(dev, &bd, &wbig) == TW_OK);
  CHECK(tw_weight_prepare(dev, &wd, &wt) == TW_OK);
  tw_gemm_options go = {.kernel = "64x64x64", .host_k_loop = 1};
  tw_gemm_stats st;
  rc = tw_gemm_ex(stream, M, K, a, TW_DTYPE_F32, K, wt, c, N, &go, &st);
  CHECK_MSG(rc == TW_OK, "gemm: %s", tw_stream_last_error(stream));
  const tw_plan *p = tw_stream_last_plan(stream);
  size_t resident = (size_t)BK * BN * 2 + (size_t)K * N * 2;
  CHECK_MSG(p->device_bytes + resident <= (8u << 20), "plan needs %zu + %zu bytes",
            p->device_bytes, resident);
  /* 8 MiB - 4 MiB - 0.5 MiB - A (3008 x 512 bf16) leaves room for 18 pairs of
   * 16 KiB partial tiles */
  CHECK_MSG(p->batch >= 2 && p->batch <= 18, "batch %zu", p->batch);
  CHECK(st.invocations == 3008);
  /* exact small integers: the result is exact in fp32 */
  int exact = 1;
  for (size_t i = 0; i < M && exact; i += 97)
    for (size_t j = 0; j < N; j += 13) {
      double s = 0;
      for (size_t q = 0; q < K; q++) s += (double)a[i * K + q] * w[q * N + j];
      if ((double)c[i * N + j] != s) exact = 0;
    }
  CHECK(exact);
  tw_weight_destroy(wt);
  tw_weight_destroy(wbig);
  tw_stream_destroy(stream);
  tw_device_destroy(dev);
  free(big), free(a), free(w), free(c);
  return tw_test_finish("test_planner_memory");
}

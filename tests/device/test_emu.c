/* The emu device: queue, memory, kernel budget, errors, modeled time, and
 * the dispatch strategies' invocation counts. */
#include <stdlib.h>
#include <string.h>

#include "core/timing.h"
#include "device/emu/profile.h"
#include "device/registry.h"
#include "kernels/tile.h"
#include "strategy.h"
#include "tw_test.h"

static tw_device *make_emu(const char *kernels, const char *options) {
  tw_device_config cfg = {.kernels = kernels, .options = options};
  tw_device *dev = NULL;
  int rc = tw_registry_create("emu", &cfg, &dev);
  CHECK_MSG(rc == TW_OK, "emu (%s; %s): %s", kernels ? kernels : "default",
            options ? options : "", tw_last_error());
  return dev;
}

static int run_one(tw_device *dev, const tw_cmd *cmds, size_t n, tw_exec_times *t) {
  uint64_t fence;
  int rc = dev->iface->submit(dev, cmds, n, &fence);
  return rc ? rc : dev->iface->wait(dev, fence, t);
}

static void fill_bf16(tw_rng *rng, tw_bf16 *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = tw_fp32_to_bf16((float)(2.0 * tw_rng_uniform(rng) - 1.0));
}

/* One kernel on the emu device against the tile kernel called directly on
 * the same bf16 data: fp32 and bf16 output, overwrite and accumulate. */
static void bit_identical(void) {
  tw_device *dev = make_emu("128x64x512,64x64x64a,64x64x512b", NULL);
  if (!dev) return;
  tw_rng rng = {11};
  for (int kern = 0; kern < 3; kern++) {
    const tw_kernel_info *ki = &dev->kernels[kern];
    size_t m = (size_t)ki->mk, k = (size_t)ki->kk, n = (size_t)ki->nk;
    size_t ce = (ki->flags & TW_KERNEL_OUT_BF16) ? 2 : 4;
    int acc = (ki->flags & TW_KERNEL_ACCUM_K) != 0;
    tw_bf16 *a = malloc(m * k * 2), *b = malloc(k * n * 2);
    unsigned char *c0 = malloc(m * n * ce), *got = malloc(m * n * ce), *want = malloc(m * n * ce);
    fill_bf16(&rng, a, m * k);
    fill_bf16(&rng, b, k * n);
    for (size_t i = 0; i < m * n; i++) { /* an old C to accumulate into */
      float v = (float)(tw_rng_uniform(&rng) - 0.5);
      if (ce == 2) ((tw_bf16 *)c0)[i] = tw_fp32_to_bf16(v);
      else ((float *)c0)[i] = v;
    }
    memcpy(want, c0, m * n * ce);
    if (ce == 2)
      tw_tile_gemm_bf16_out_bf16((int)m, (int)k, (int)n, a, k, b, n, (tw_bf16 *)want, n, acc);
    else
      tw_tile_gemm_bf16((int)m, (int)k, (int)n, a, k, b, n, (float *)want, n, acc);
    tw_dbuf *da, *db, *dc;
    CHECK(dev->iface->buffer_alloc(dev, m * k * 2, &da) == TW_OK);
    CHECK(dev->iface->buffer_alloc(dev, k * n * 2, &db) == TW_OK);
    CHECK(dev->iface->buffer_alloc(dev, m * n * ce, &dc) == TW_OK);
    CHECK(da->host == NULL); /* device memory is not host-addressable */
    tw_cmd cmds[] = {
        {.op = TW_CMD_WRITE, .buf = da, .bytes = m * k * 2, .src = a},
        {.op = TW_CMD_WRITE, .buf = db, .bytes = k * n * 2, .src = b},
        {.op = TW_CMD_WRITE, .buf = dc, .bytes = m * n * ce, .src = c0},
        {.op = TW_CMD_KERNEL, .kernel = kern, .a = da, .b = db, .c = dc, .lda = k, .ldb = n,
         .ldc = n, .m = (int)m, .k = (int)k, .n = (int)n, .accumulate = acc},
        {.op = TW_CMD_READ, .buf = dc, .bytes = m * n * ce, .dst = got},
    };
    CHECK(run_one(dev, cmds, 5, NULL) == TW_OK);
    CHECK_MSG(memcmp(got, want, m * n * ce) == 0, "kernel %s differs from the tile kernel",
              ki->name);
    dev->iface->buffer_free(dev, da);
    dev->iface->buffer_free(dev, db);
    dev->iface->buffer_free(dev, dc);
    free(a), free(b), free(c0), free(got), free(want);
  }
  tw_device_destroy(dev);
}

/* 100,000 tiny submissions: each writes its index into a slot; waits come
 * in irregular strides; the final values prove order and completion. */
static void many_submissions(void) {
  tw_device *dev = make_emu(NULL, NULL);
  if (!dev) return;
  enum { N = 100000, SLOTS = 16 };
  static uint32_t values[N];
  tw_dbuf *buf;
  CHECK(dev->iface->buffer_alloc(dev, SLOTS * 4, &buf) == TW_OK);
  uint64_t fence = 0, last_waited = 0;
  int bad = 0;
  for (uint32_t i = 0; i < N; i++) {
    values[i] = i;
    tw_cmd cmd = {.op = TW_CMD_WRITE, .buf = buf, .offset = (i % SLOTS) * 4, .bytes = 4,
                  .src = &values[i]};
    if (dev->iface->submit(dev, &cmd, 1, &fence) != TW_OK) bad++;
    if (fence != (uint64_t)i + 1) bad++;
    if (i % 997 == 0 || i % 13 == 5) {
      if (dev->iface->wait(dev, fence, NULL) != TW_OK) bad++;
      last_waited = fence;
    }
  }
  CHECK(bad == 0);
  CHECK(last_waited < fence);
  uint32_t out[SLOTS];
  tw_cmd rd = {.op = TW_CMD_READ, .buf = buf, .bytes = sizeof out, .dst = out};
  CHECK(run_one(dev, &rd, 1, NULL) == TW_OK);
  for (uint32_t s = 0; s < SLOTS; s++) CHECK(out[s] == N - SLOTS + s);
  /* waiting on an old fence again is fine; a future one is an error */
  CHECK(dev->iface->wait(dev, 1, NULL) == TW_OK);
  CHECK(dev->iface->wait(dev, fence + 100, NULL) == TW_EINVAL);
  dev->iface->buffer_free(dev, buf);
  tw_device_destroy(dev);
}

static void refused_kernel(void) {
  tw_device_config cfg = {.kernels = "64x64x64,128x512x1024", .options = "kernel_kb=1024"};
  tw_device *dev = NULL;
  int rc = tw_registry_create("emu", &cfg, &dev);
  /* 128x512 + 512x1024 bf16 + 128x1024 fp32 = 131072 + 1048576 + 524288 bytes */
  CHECK(rc == TW_EBUDGET && dev == NULL);
  const char *msg = tw_last_error();
  CHECK_MSG(strstr(msg, "kernel 128x512x1024 refused") && strstr(msg, "1664 KiB") &&
                strstr(msg, "1024 KiB") && strstr(msg, "kernel_kb"),
            "message: %s", msg);
  /* the large set's whole-problem kernel does not fit the default budget */
  cfg = (tw_device_config){.options = "large=1,kernel_kb=2048"};
  CHECK(tw_registry_create("emu", &cfg, &dev) == TW_EBUDGET);
  CHECK_MSG(strstr(tw_last_error(), "3008x512x512a refused"), "%s", tw_last_error());
  cfg = (tw_device_config){.options = "profile=nosuch"};
  CHECK(tw_registry_create("emu", &cfg, &dev) == TW_EINVAL);
  CHECK_MSG(strstr(tw_last_error(), "unknown profile 'nosuch'"), "%s", tw_last_error());
  /* large=1 alone lifts the budget and adds both shapes */
  dev = make_emu(NULL, "large=1");
  if (dev) {
    CHECK(dev->n_kernels == 5);
    CHECK(strcmp(dev->kernels[4].name, "3008x512x512a") == 0);
    CHECK(dev->kernels[3].flags & TW_KERNEL_ACCUM_K);
    tw_device_destroy(dev);
  }
}

static void bounds_and_memory(void) {
  tw_device *dev = make_emu(NULL, "mem_mb=1");
  if (!dev) return;
  tw_dbuf *buf, *big;
  CHECK(dev->iface->buffer_alloc(dev, 128, &buf) == TW_OK);
  char src[256] = {0};
  tw_cmd bad = {.op = TW_CMD_WRITE, .buf = buf, .offset = 60, .bytes = 100, .src = src};
  uint64_t fence;
  CHECK(dev->iface->submit(dev, &bad, 1, &fence) == TW_OK); /* found on the device thread */
  CHECK(dev->iface->wait(dev, fence, NULL) == TW_EBOUNDS);
  CHECK_MSG(strstr(dev->err.msg, "write of 100 bytes at offset 60 is outside the 128-byte buffer"),
            "message: %s", dev->err.msg);
  /* the error is reported once; the queue keeps working */
  tw_cmd ok = {.op = TW_CMD_READ, .buf = buf, .offset = 0, .bytes = 128, .dst = src};
  CHECK(run_one(dev, &ok, 1, NULL) == TW_OK);
  /* capacity: 1 MiB in total */
  CHECK(dev->iface->buffer_alloc(dev, 1u << 20, &big) == TW_EBUDGET);
  CHECK_MSG(strstr(dev->err.msg, "128 of 1048576 bytes in use"), "message: %s", dev->err.msg);
  dev->iface->buffer_free(dev, buf);
  CHECK(dev->iface->buffer_alloc(dev, 1u << 20, &big) == TW_OK);
  dev->iface->buffer_free(dev, big);
  tw_device_destroy(dev);
}

/* Destroying the device with work queued and running: cancels what has not
 * started, lets the running submission finish, joins.  (ASan: no leaks.) */
static void destroy_in_flight(void) {
  tw_device *dev = make_emu(NULL, "call_us=2000");
  if (!dev) return;
  static tw_bf16 a[64 * 64], b[64 * 64];
  tw_dbuf *da, *db, *dc;
  CHECK(dev->iface->buffer_alloc(dev, sizeof a, &da) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, sizeof b, &db) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, 64 * 64 * 4, &dc) == TW_OK);
  tw_cmd cmds[] = {
      {.op = TW_CMD_WRITE, .buf = da, .bytes = sizeof a, .src = a},
      {.op = TW_CMD_WRITE, .buf = db, .bytes = sizeof b, .src = b},
      {.op = TW_CMD_KERNEL, .kernel = 0, .a = da, .b = db, .c = dc, .lda = 64, .ldb = 64,
       .ldc = 64, .m = 64, .k = 64, .n = 64},
  };
  uint64_t fence;
  for (int i = 0; i < 200; i++) CHECK(dev->iface->submit(dev, cmds, 3, &fence) == TW_OK);
  double t0 = tw_now();
  tw_device_destroy(dev); /* also frees the three buffers still allocated */
  CHECK_MSG(tw_now() - t0 < 0.2, "destroy took %.3f s: queued work was not cancelled",
            tw_now() - t0);
}

static int near(double x, double want) { return fabs(x - want) <= 1e-9 * fabs(want); }

/* Modeled time: the seed's 3008 calls at 54.4 ms, and xdna1's terms. */
static void modeled_time(void) {
  tw_device *dev = make_emu("64x64x64", "profile=seed");
  if (!dev) return;
  tw_dbuf *da, *dc;
  CHECK(dev->iface->buffer_alloc(dev, 64 * 64 * 2, &da) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, 64 * 64 * 4, &dc) == TW_OK);
  tw_cmd k = {.op = TW_CMD_KERNEL, .kernel = 0, .a = da, .b = da, .c = dc, .lda = 64, .ldb = 64,
              .ldc = 64, .m = 64, .k = 64, .n = 64};
  tw_cmd batch[64];
  for (int i = 0; i < 64; i++) batch[i] = k;
  tw_exec_times t = {0};
  uint64_t fence = 0;
  for (int s = 0; s < 47; s++) CHECK(dev->iface->submit(dev, batch, 64, &fence) == TW_OK);
  CHECK(dev->iface->wait(dev, fence, &t) == TW_OK);
  double seed = 3008 * (0.5 + 0.3 + 1.0 + 52.0 + 0.6) * 1e-3; /* 163.6352 s */
  CHECK_MSG(near(t.modeled_s, seed), "seed: %.6f s modeled, want %.6f", t.modeled_s, seed);
  /* modeled, not slept: sleeping would take the full 163.6 s; the bound is
   * loose so a loaded machine's slow emulation does not trip it */
  CHECK_MSG(t.compute_s < 0.25 * seed, "compute %.1f s: the modeled time was slept", t.compute_s);
  tw_emu_profile p;
  CHECK(tw_emu_profile_get("seed", &p) == TW_OK);
  CHECK(near(tw_emu_profile_model(&p, 3008, 3008, 1u << 20, 1u << 20, 1e12), seed));
  CHECK(near(tw_emu_profile_model(&p, 376, 376, 0, 0, 0), 20.4544));
  CHECK(near(tw_emu_profile_model(&p, 192, 192, 0, 0, 0), 10.4448));
  dev->iface->buffer_free(dev, da);
  dev->iface->buffer_free(dev, dc);
  tw_device_destroy(dev);
  /* xdna1: 50 us per call, 55 GB/s, 1.94 TFLOP/s */
  dev = make_emu("128x64x512", "profile=xdna1,submit_us=7");
  if (!dev) return;
  tw_dbuf *a, *b, *c;
  static tw_bf16 host[512 * 512];
  CHECK(dev->iface->buffer_alloc(dev, 128 * 64 * 2, &a) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, 64 * 512 * 2, &b) == TW_OK);
  CHECK(dev->iface->buffer_alloc(dev, 128 * 512 * 4, &c) == TW_OK);
  tw_cmd cmds[] = {
      {.op = TW_CMD_WRITE, .buf = b, .bytes = 64 * 512 * 2, .src = host},
      {.op = TW_CMD_KERNEL, .kernel = 0, .a = a, .b = b, .c = c, .lda = 64, .ldb = 512,
       .ldc = 512, .m = 128, .k = 64, .n = 512},
      {.op = TW_CMD_READ, .buf = c, .bytes = 128 * 512 * 4, .dst = host},
  };
  t = (tw_exec_times){0};
  CHECK(run_one(dev, cmds, 3, &t) == TW_OK);
  double want = 7e-6 + 50e-6 + 65536 / 55e9 + 262144 / 55e9 + 2.0 * 128 * 64 * 512 / 1.94e12;
  CHECK_MSG(near(t.modeled_s, want), "xdna1: %.9g s modeled, want %.9g", t.modeled_s, want);
  CHECK(dev->costs.invoke_s == 50e-6 && dev->costs.overlap == 1 && dev->costs.host_memory == 0);
  CHECK(dev->costs.mem_bytes == 512u << 20);
  dev->iface->buffer_free(dev, a);
  dev->iface->buffer_free(dev, b);
  dev->iface->buffer_free(dev, c);
  tw_device_destroy(dev);
}

/* profile=custom and overrides; malformed values are refused with the key. */
static void profile_options(void) {
  tw_device *dev = make_emu(NULL, "profile=custom,invoke_us=10,submit_us=5,gbps=2,gflops=3");
  if (dev) {
    CHECK(near(dev->costs.invoke_s, 10e-6) && near(dev->costs.submit_s, 5e-6));
    CHECK(near(dev->costs.h2d_bytes_per_s, 2e9) && near(dev->costs.d2h_bytes_per_s, 2e9));
    CHECK(near(dev->costs.flops_per_s, 3e9));
    tw_device_destroy(dev);
  }
  tw_emu_profile p;
  CHECK(tw_emu_profile_from_options("profile=xdna1,invoke_us=7", &p, NULL) == TW_OK);
  CHECK(near(p.invoke_s, 7e-6) && near(p.flops_per_s, 1.94e12)); /* override on top */
  tw_errbuf e;
  CHECK(tw_emu_profile_from_options("gbps=fast", &p, &e) == TW_EINVAL);
  CHECK_MSG(strstr(e.msg, "gbps"), "%s", e.msg);
  tw_device_config cfg = {.options = "mem_mb=lots"};
  CHECK(tw_registry_create("emu", &cfg, &dev) == TW_EINVAL);
  CHECK_MSG(strstr(tw_last_error(), "mem_mb"), "%s", tw_last_error());
}

/* An emu device (one worker thread) and one stream on it, borrowing the
 * device's pool. */
static tw_stream *make_stream(const char *options, tw_device **dev) {
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = "emu";
  o.options = options;
  o.threads = 1;
  *dev = NULL;
  CHECK_MSG(tw_device_create(&o, dev) == TW_OK, "device: %s", tw_last_error());
  if (!*dev) return NULL;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1;
  tw_stream *s = NULL;
  CHECK_MSG(tw_stream_create(*dev, &so, &s) == TW_OK, "stream: %s", tw_last_error());
  return s;
}

/* Invocation counts of every strategy: the seed's problem from the formula,
 * a small one executed, with results against the fp64 reference. */
static void strategy_counts(void) {
  tw_device *dev = NULL, *big_dev = NULL;
  tw_stream *small = make_stream(NULL, &dev), *big = make_stream("large=1", &big_dev);
  if (!small || !big) {
    tw_stream_destroy(small);
    tw_stream_destroy(big);
    tw_device_destroy(dev);
    tw_device_destroy(big_dev);
    return;
  }
  /* ceil(3001/64) * ceil(512/64) * ceil(512/64) = 47*8*8; 47*1*8; 24*1*8 */
  static const uint64_t seed_expect[] = {3008, 3008, 376, 192, 192, 1};
  for (int id = 0; id < TW_STRATEGY_COUNT; id++) {
    tw_gemm_stats sc;
    tw_stream *c = tw_strategy_get(id)->large ? big : small;
    CHECK(tw_strategy_count(c, id, 3001, 512, 512, 0, &sc) == TW_OK);
    CHECK_MSG(sc.invocations == seed_expect[id], "%s: %llu invocations, expected %llu",
              tw_strategy_get(id)->name, (unsigned long long)sc.invocations,
              (unsigned long long)seed_expect[id]);
  }
  enum { M = 300, K = 200, N = 150 };
  /* ceil(300/64)=5, ceil(150/64)=3, ceil(200/64)=4; 64x512: 5*1*4; 128x512: 3*1*4 */
  static const uint64_t small_expect[] = {60, 60, 20, 12};
  tw_rng rng = {5};
  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
  float *c = malloc(sizeof(float) * M * N);
  double *ref = malloc(sizeof(double) * M * N);
  tw_fill_uniform(&rng, a, M * K, -1, 1);
  tw_fill_uniform(&rng, b, K * N, -1, 1);
  tw_reference_gemm_f64(M, K, N, a, K, b, N, NULL, ref, N, 1);
  for (int id = 0; id < TW_STRATEGY_COUNT; id++) {
    tw_stream *cx = tw_strategy_get(id)->large ? big : small;
    tw_gemm_stats sc;
    tw_gemm_stats st;
    CHECK(tw_strategy_count(cx, id, M, K, N, 0, &sc) == TW_OK);
    int rc = tw_strategy_run(cx, id, M, K, N, a, b, c, &st);
    CHECK_MSG(rc == TW_OK, "%s: %s", tw_strategy_get(id)->name, tw_stream_last_error(cx));
    if (id < 4) CHECK(st.invocations == small_expect[id]);
    CHECK(st.invocations == sc.invocations && st.submissions == sc.submissions);
    CHECK(st.bytes_to_device == sc.bytes_to_device);
    CHECK(st.bytes_from_device == sc.bytes_from_device);
    double rel = tw_reference_rel_error(c, N, ref, N, M, N, NULL);
    CHECK_MSG(rel <= 1e-6, "%s: rel err %.3g vs the bf16-input reference",
              tw_strategy_get(id)->name, rel);
    /* the device's own modeled time = the seed profile's on the counts */
    tw_emu_profile p;
    tw_emu_profile_get("seed", &p);
    CHECK(near(st.modeled_device_s, tw_emu_profile_model(&p, st.invocations, st.submissions,
                                                         st.bytes_to_device, st.bytes_from_device,
                                                         st.padded_flops)));
  }
  free(a), free(b), free(c), free(ref);
  tw_stream_destroy(small);
  tw_stream_destroy(big);
  tw_device_destroy(dev);
  tw_device_destroy(big_dev);
}

/* The same GEMM through the engine on fixed (synchronous, host memory) and
 * on emu (device thread, private memory): bit-identical C, same counts. */
static void cross_device(void) {
  enum { M = 300, K = 200, N = 150 };
  static const char *devices[] = {"fixed", "emu"};
  static float a[M * K], w[K * N], c[2][M * N];
  tw_rng rng = {77};
  tw_fill_uniform(&rng, a, M * K, -1, 1);
  tw_fill_uniform(&rng, w, K * N, -1, 1);
  uint64_t inv[2] = {0, 0};
  for (int d = 0; d < 2; d++) {
    tw_device_options o;
    tw_device_options_init(&o);
    o.name = devices[d];
    o.threads = 1;
    tw_device *dev = NULL;
    CHECK(tw_device_create(&o, &dev) == TW_OK);
    if (!dev) return;
    tw_stream_options so;
    tw_stream_options_init(&so);
    so.borrow_device_pool = 1;
    tw_stream *s = NULL;
    CHECK(tw_stream_create(dev, &so, &s) == TW_OK);
    if (!s) {
      tw_device_destroy(dev);
      return;
    }
    tw_weight_desc wd = {.data = w, .dtype = TW_DTYPE_F32, .k = K, .n = N, .ld = N};
    tw_weight *wt = NULL;
    CHECK(tw_weight_prepare(dev, &wd, &wt) == TW_OK);
    tw_gemm_options go = {.kernel = "128x64x512", .host_k_loop = 1, .max_batch = 5};
    tw_gemm_stats st;
    CHECK(tw_gemm_ex(s, M, K, a, TW_DTYPE_F32, K, wt, c[d], N, &go, &st) == TW_OK);
    inv[d] = st.invocations;
    tw_weight_destroy(wt);
    tw_stream_destroy(s);
    tw_device_destroy(dev);
  }
  CHECK(inv[0] == 12 && inv[1] == 12); /* ceil(300/128) * 1 * ceil(200/64) */
  CHECK(memcmp(c[0], c[1], sizeof c[0]) == 0);
}

int main(void) {
  bit_identical();
  many_submissions();
  refused_kernel();
  bounds_and_memory();
  destroy_in_flight();
  modeled_time();
  strategy_counts();
  cross_device();
  profile_options();
  return tw_test_finish("test_emu");
}

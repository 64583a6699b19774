/* tilewhisper gemm M K N: one GEMM on a device, its plan, cost and error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper gemm M K N [--device D] [--kernel MxKxN] [--kernels SPEC] [--host-k]\n"
    "                       [--device-options K=V,...] [--threads N] [--seed S] [--json]";
static const char *const VALUE_OPTIONS[] = {"--device", "--kernel", "--kernels", "--device-options",
                                            "--threads", "--seed", NULL};

typedef struct gemm_args {
  long m, k, n, threads, seed;
  const char *device, *kernel, *kernels, *device_options;
  int json, host_k;
} gemm_args;

static int parse(int argc, char **argv, gemm_args *g) {
  *g = (gemm_args){.device = "cpu", .seed = 1};
  long *dims[] = {&g->m, &g->k, &g->n};
  int n_dims = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (tw_arg_is_help(a)) return TW_ARGS_HELP;
    if (!strcmp(a, "--json")) g->json = 1;
    else if (!strcmp(a, "--host-k")) g->host_k = 1;
    else if (!strcmp(a, "--device") && has_value) g->device = argv[++i];
    else if (!strcmp(a, "--kernel") && has_value) g->kernel = argv[++i];
    else if (!strcmp(a, "--kernels") && has_value) g->kernels = argv[++i];
    else if (!strcmp(a, "--device-options") && has_value) g->device_options = argv[++i];
    else if (!strcmp(a, "--threads") && has_value) {
      if (tw_arg_long(argv[++i], 1, 1024, &g->threads))
        return tw_usage_error("gemm", USAGE, "--threads wants a number 1..1024, not '%s'", argv[i]);
    } else if (!strcmp(a, "--seed") && has_value) {
      if (tw_arg_long(argv[++i], 0, 1L << 40, &g->seed))
        return tw_usage_error("gemm", USAGE, "--seed wants a number, not '%s'", argv[i]);
    } else if (a[0] == '-' && a[1] == '-') {
      return tw_option_error("gemm", USAGE, a, VALUE_OPTIONS, !has_value);
    } else if (n_dims < 3) {
      if (tw_arg_long(a, 1, 1L << 20, dims[n_dims]))
        return tw_usage_error("gemm", USAGE, "'%s' is not a dimension (1..1048576)", a);
      n_dims++;
    } else {
      return tw_usage_error("gemm", USAGE, "unexpected argument '%s'", a);
    }
  }
  if (n_dims != 3) return tw_usage_error("gemm", USAGE, "M, K and N are required");
  return 0;
}

typedef struct gemm_data {
  float *a, *w, *bias, *c;
  double *ref_r, *ref_u;
} gemm_data;

static void data_free(gemm_data *d) {
  free(d->a);
  free(d->w);
  free(d->bias);
  free(d->c);
  free(d->ref_r);
  free(d->ref_u);
}

static void print_human(const gemm_args *g, tw_stream *s, const tw_gemm_stats *st,
                        double rel_r, double rel_u, double max_abs) {
  tw_plan_info pi;
  tw_stream_last_plan_info(s, &pi);
  const tw_plan_info *p = &pi;
  printf("gemm %ldx%ldx%ld on %s (%d threads)\n", g->m, g->k, g->n, g->device,
         tw_stream_threads(s));
  if (p->direct) {
    printf("  plan        direct: one invocation of the device's any-shape kernel\n");
  } else {
    printf("  plan        kernel %s, %s order, K summed on the %s, %zu invocations/submission\n",
           p->kernel, p->column_order ? "column" : "row", p->host_k ? "host" : "device", p->batch);
    printf("  tiles       %zu x %zu x %zu (padded to %zux%zux%zu)\n", p->m_tiles, p->k_tiles,
           p->n_tiles, p->m_pad, p->k_pad, p->n_pad);
  }
  printf("  invocations %llu   submissions %llu\n", (unsigned long long)st->invocations,
         (unsigned long long)st->submissions);
  printf("  bytes       %llu to device, %llu from device\n",
         (unsigned long long)st->bytes_to_device, (unsigned long long)st->bytes_from_device);
  printf("  flops       %.4g useful, %.4g executed (padding %.1f%%)\n", st->useful_flops,
         st->padded_flops, 100.0 * (st->padded_flops - st->useful_flops) / st->padded_flops);
  printf("  time        %.4f s wall (%.2f GFLOP/s): host prep %.4f, transfer %.4f, compute "
         "%.4f, wait %.4f\n",
         st->total_s, st->useful_flops / st->total_s * 1e-9, st->host_prep_s, st->transfer_s,
         st->compute_s, st->wait_s);
  if (!p->direct) printf("  predicted   %.6f s (planner's cost model)\n", st->predicted_s);
  if (st->modeled_device_s > 0) printf("  modeled     %.6f s device time\n", st->modeled_device_s);
  printf("  error       rel %.3e vs bf16-rounded inputs, rel %.3e vs fp32 inputs, max abs %.3e\n",
         rel_r, rel_u, max_abs);
}

static void print_json(const gemm_args *g, tw_stream *s, const tw_gemm_stats *st,
                       double rel_r, double rel_u, double max_abs) {
  tw_plan_info p;
  tw_stream_last_plan_info(s, &p);
  char esc[256];
  printf("{\"device\":\"%s\",\"kernel\":\"%s\",\"m\":%ld,\"k\":%ld,\"n\":%ld,\"threads\":%d,"
         "\"invocations\":%llu,\"submissions\":%llu,\"bytes_to_device\":%llu,"
         "\"bytes_from_device\":%llu,\"flops\":%.17g,\"padded_flops\":%.17g,\"wall_s\":%.9g,"
         "\"host_prep_s\":%.9g,\"transfer_s\":%.9g,\"compute_s\":%.9g,\"wait_s\":%.9g,"
         "\"predicted_s\":%.9g,\"modeled_device_s\":%.9g,\"host_k\":%s,"
         "\"rel_err_vs_bf16_inputs\":%.6g,\"rel_err_vs_fp32_inputs\":%.6g,\"max_abs_err\":%.6g}\n",
         tw_json_escape(g->device, esc, sizeof esc), p.kernel, g->m, g->k, g->n,
         tw_stream_threads(s), (unsigned long long)st->invocations,
         (unsigned long long)st->submissions, (unsigned long long)st->bytes_to_device,
         (unsigned long long)st->bytes_from_device, st->useful_flops, st->padded_flops,
         st->total_s, st->host_prep_s, st->transfer_s, st->compute_s, st->wait_s,
         st->predicted_s, st->modeled_device_s, p.host_k ? "true" : "false", rel_r, rel_u,
         max_abs);
}

int tw_cli_gemm(int argc, char **argv) {
  gemm_args g;
  int rc = parse(argc, argv, &g);
  if (rc) return rc == TW_ARGS_HELP ? tw_usage_print(USAGE) : rc;
  tw_device_options o;
  tw_device_options_init(&o);
  o.name = g.device;
  o.kernels = g.kernels;
  o.options = g.device_options;
  o.threads = (int)g.threads;
  tw_device *dev = NULL;
  tw_stream *ctx = NULL;
  tw_stream_options so;
  tw_stream_options_init(&so);
  so.borrow_device_pool = 1; /* one stream: the device's workers do the work */
  if ((rc = tw_device_create(&o, &dev)) || (rc = tw_stream_create(dev, &so, &ctx))) {
    fprintf(stderr, "tilewhisper gemm: %s: %s\n", tw_strerror(rc), tw_last_error());
    tw_device_destroy(dev);
    return 1;
  }
  size_t m = (size_t)g.m, k = (size_t)g.k, n = (size_t)g.n;
  gemm_data d = {malloc(sizeof(float) * m * k), malloc(sizeof(float) * k * n),
                 malloc(sizeof(float) * n),     malloc(sizeof(float) * m * n),
                 malloc(sizeof(double) * m * n), malloc(sizeof(double) * m * n)};
  tw_weight *w = NULL;
  int status = 1;
  if (!d.a || !d.w || !d.bias || !d.c || !d.ref_r || !d.ref_u) {
    fprintf(stderr, "tilewhisper gemm: out of memory for %zux%zux%zu\n", m, k, n);
    goto out;
  }
  uint64_t state = (uint64_t)g.seed;
  tw_reference_fill_uniform(d.a, m * k, &state);
  tw_reference_fill_uniform(d.w, k * n, &state);
  tw_reference_fill_uniform(d.bias, n, &state);
  tw_weight_desc wd = {.data = d.w, .dtype = TW_DTYPE_F32, .k = k, .n = n, .ld = n,
                       .bias = d.bias, .name = "W"};
  tw_gemm_options go = {.kernel = g.kernel, .host_k_loop = g.host_k};
  tw_gemm_stats st;
  if ((rc = tw_weight_prepare(dev, &wd, &w)) ||
      (rc = tw_gemm_ex(ctx, m, k, d.a, TW_DTYPE_F32, k, w, d.c, n, &go, &st))) {
    fprintf(stderr, "tilewhisper gemm: %s: %s\n", tw_strerror(rc), tw_last_error());
    goto out;
  }
  if (tw_reference_gemm_f64(m, k, n, d.a, k, d.w, n, d.bias, d.ref_r, n, 1) ||
      tw_reference_gemm_f64(m, k, n, d.a, k, d.w, n, d.bias, d.ref_u, n, 0)) {
    fprintf(stderr, "tilewhisper gemm: out of memory for the reference\n");
    goto out;
  }
  double rel_r, rel_u, max_abs;
  rel_r = tw_reference_rel_error(d.c, n, d.ref_r, n, m, n, &max_abs);
  rel_u = tw_reference_rel_error(d.c, n, d.ref_u, n, m, n, NULL);
  if (g.json)
    print_json(&g, ctx, &st, rel_r, rel_u, max_abs);
  else
    print_human(&g, ctx, &st, rel_r, rel_u, max_abs);
  status = 0;
out:
  tw_weight_destroy(w);
  tw_stream_destroy(ctx);
  tw_device_destroy(dev);
  data_free(&d);
  return status;
}

/* tilewhisper devices / --version: what is compiled in and what it offers. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "device/cpu/cpu.h"
#include "device/device.h"
#include "tilewhisper/tilewhisper.h"

int tw_cli_version(void) {
  printf("tilewhisper %s\n", tw_version());
  printf("devices:");
  for (const char *const *n = tw_device_names(); *n; n++) printf(" %s", *n);
#ifndef TW_HAVE_OPENCL
  printf(" (opencl: not in this build)");
#endif
  printf("\n");
  return 0;
}

static void format_rate(char *buf, size_t cap, double value, const char *unit) {
  if (value > 0)
    snprintf(buf, cap, "%.4g %s", value, unit);
  else
    snprintf(buf, cap, "n/a %s", unit);
}

/* The cpu device's calibrated kernel choice and the figures behind it. */
static void print_cpu_choice(const tw_device *dev, int json) {
  const tw_cpu_choice *c = tw_cpu_device_choice(dev);
  if (!json) {
    char buf[2048];
    tw_cpu_choice_describe(c, buf, sizeof buf);
    fputs(buf, stdout);
    return;
  }
  static const char *const sources[3] = {"fixed", "measured", "cached"};
  printf(",\"calibration\":{\"source\":\"%s\",\"kernels\":\"%s\"", sources[c->source],
         c->ks->isa);
  for (int cls = 0; cls < TW_CPU_N_CLASSES; cls++)
    printf(",\"%s\":\"%s\"", tw_cpu_class_name(cls), tw_cpu_mode_name(c->mode[cls]));
  printf(",\"gflops\":[");
  for (int i = 0; i < c->n_cands; i++)
    printf("%s{\"kernels\":\"%s\",\"mode\":\"%s\",\"large\":%.4g,\"skinny\":%.4g,"
           "\"gemv\":%.4g}", i ? "," : "", c->cands[i].ks->isa, tw_cpu_mode_name(c->cands[i].mode),
           c->cands[i].gflops[0], c->cands[i].gflops[1], c->cands[i].gflops[2]);
  printf("]}");
}

static void print_device(const tw_device *dev, int json, int first) {
  const tw_device_costs *c = &dev->costs;
  if (json) {
    printf("%s{\"name\":\"%s\",\"invoke_s\":%.6g,\"submit_s\":%.6g,\"h2d_bytes_per_s\":%.6g,"
           "\"d2h_bytes_per_s\":%.6g,\"flops_per_s\":%.6g,\"mem_bytes\":%zu,\"kernels\":[",
           first ? "" : ",", dev->name, c->invoke_s, c->submit_s, c->h2d_bytes_per_s,
           c->d2h_bytes_per_s, c->flops_per_s, c->mem_bytes);
    for (int i = 0; i < dev->n_kernels; i++) {
      const tw_kernel_info *k = &dev->kernels[i];
      printf("%s{\"name\":\"%s\",\"m\":%d,\"k\":%d,\"n\":%d,\"accumulates_k\":%s,"
             "\"any_shape\":%s,\"bf16_out\":%s,\"dev_mem_bytes\":%zu}",
             i ? "," : "", k->name, k->mk, k->kk, k->nk,
             k->flags & TW_KERNEL_ACCUM_K ? "true" : "false",
             k->flags & TW_KERNEL_ANY_SHAPE ? "true" : "false",
             k->flags & TW_KERNEL_OUT_BF16 ? "true" : "false", k->dev_mem_bytes);
    }
    printf("]");
    if (!strcmp(dev->name, "cpu")) print_cpu_choice(dev, 1);
    printf("}");
    return;
  }
  printf("%s\n", dev->name);
  char bw_to[32], bw_from[32], rate[32];
  /* a zero figure means the device does not charge that cost separately */
  format_rate(bw_to, sizeof bw_to, c->h2d_bytes_per_s * 1e-9, "GB/s");
  format_rate(bw_from, sizeof bw_from, c->d2h_bytes_per_s * 1e-9, "GB/s");
  format_rate(rate, sizeof rate, c->flops_per_s * 1e-9, "GFLOP/s");
  printf("  costs: %.3g us/invocation, %.3g us/submission, %s to device, %s back, %s%s\n",
         c->invoke_s * 1e6, c->submit_s * 1e6, bw_to, bw_from, rate,
         c->host_memory ? ", host memory" : "");
  for (int i = 0; i < dev->n_kernels; i++) {
    const tw_kernel_info *k = &dev->kernels[i];
    if (k->flags & TW_KERNEL_ANY_SHAPE)
      printf("  kernel %-14s any shape%s\n", k->name,
             k->flags & TW_KERNEL_ACCUM_K ? ", accumulates over K" : "");
    else
      printf("  kernel %-14s %dx%d . %dx%d%s%s, %zu bytes per invocation\n", k->name, k->mk,
             k->kk, k->kk, k->nk, k->flags & TW_KERNEL_ACCUM_K ? ", accumulates over K" : "",
             k->flags & TW_KERNEL_OUT_BF16 ? ", bf16 output" : "", k->dev_mem_bytes);
  }
  if (!strcmp(dev->name, "cpu")) print_cpu_choice(dev, 0);
}

int tw_cli_devices(int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else return tw_usage_error("devices", "tilewhisper devices [--json]", "unknown option '%s'", argv[i]);
  }
  if (json) printf("[");
  int first = 1, status = 0;
  for (const char *const *n = tw_device_names(); *n; n++) {
    tw_device *dev;
    tw_device_config cfg = {0};
    int rc = tw_device_create(*n, &cfg, &dev);
    if (rc) {
      fprintf(stderr, "tilewhisper devices: %s: %s\n", *n, tw_last_error());
      status = 1;
      continue;
    }
    print_device(dev, json, first);
    first = 0;
    tw_device_destroy(dev);
  }
  if (json) printf("]\n");
  return status;
}

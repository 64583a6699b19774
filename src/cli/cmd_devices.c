/* tilewhisper devices / --version: what is compiled in and what it offers. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "tilewhisper/tilewhisper.h"

int tw_cli_version(void) {
  printf("tilewhisper %s\n", tw_version());
  printf("devices:");
  int opencl = 0;
  for (const char *const *n = tw_device_kinds(); *n; n++) {
    printf(" %s", *n);
    opencl |= strcmp(*n, "opencl") == 0;
  }
  if (!opencl) printf(" (opencl: not in this build)");
  printf("\n");
  return 0;
}

static void format_rate(char *buf, size_t cap, double value, const char *unit) {
  if (value > 0)
    snprintf(buf, cap, "%.4g %s", value, unit);
  else
    snprintf(buf, cap, "n/a %s", unit);
}

/* A calibrating device's choice and the figures behind it. */
static void print_calibration(const tw_device_calibration *c, int json) {
  if (!c->present) return;
  if (!json) {
    fputs(c->text, stdout);
    return;
  }
  printf(",\"calibration\":{\"source\":\"%s\",\"kernels\":\"%s\"", c->source, c->kernels);
  for (int cls = 0; cls < 3; cls++) printf(",\"%s\":\"%s\"", c->classes[cls], c->chosen[cls]);
  printf(",\"gflops\":[");
  for (int i = 0; i < c->n_candidates; i++)
    printf("%s{\"kernels\":\"%s\",\"mode\":\"%s\",\"large\":%.4g,\"skinny\":%.4g,"
           "\"gemv\":%.4g}", i ? "," : "", c->candidates[i].kernels, c->candidates[i].mode,
           c->candidates[i].gflops[0], c->candidates[i].gflops[1], c->candidates[i].gflops[2]);
  printf("]}");
}

static void print_device(const tw_device_info *d, int json, int first) {
  if (json) {
    char esc[2 * sizeof d->detail];
    printf("%s{\"name\":\"%s\",\"detail\":\"%s\",\"invoke_s\":%.6g,\"submit_s\":%.6g,"
           "\"h2d_bytes_per_s\":%.6g,\"d2h_bytes_per_s\":%.6g,\"flops_per_s\":%.6g,"
           "\"mem_bytes\":%zu,\"kernels\":[",
           first ? "" : ",", d->name, tw_json_escape(d->detail, esc, sizeof esc), d->invoke_s,
           d->submit_s, d->h2d_bytes_per_s, d->d2h_bytes_per_s, d->flops_per_s, d->mem_bytes);
    for (int i = 0; i < d->n_kernels; i++) {
      const tw_kernel_desc *k = &d->kernels[i];
      printf("%s{\"name\":\"%s\",\"m\":%d,\"k\":%d,\"n\":%d,\"accumulates_k\":%s,"
             "\"any_shape\":%s,\"bf16_out\":%s,\"dev_mem_bytes\":%zu}",
             i ? "," : "", k->name, k->m, k->k, k->n, k->accumulates_k ? "true" : "false",
             k->any_shape ? "true" : "false", k->bf16_out ? "true" : "false", k->dev_mem_bytes);
    }
    printf("]");
    print_calibration(&d->calibration, 1);
    printf("}");
    return;
  }
  printf("%s%s%s\n", d->name, d->detail[0] ? ": " : "", d->detail);
  char bw_to[32], bw_from[32], rate[32];
  /* a zero figure means the device does not charge that cost separately */
  format_rate(bw_to, sizeof bw_to, d->h2d_bytes_per_s * 1e-9, "GB/s");
  format_rate(bw_from, sizeof bw_from, d->d2h_bytes_per_s * 1e-9, "GB/s");
  format_rate(rate, sizeof rate, d->flops_per_s * 1e-9, "GFLOP/s");
  printf("  costs: %.3g us/invocation, %.3g us/submission, %s to device, %s back, %s%s\n",
         d->invoke_s * 1e6, d->submit_s * 1e6, bw_to, bw_from, rate,
         d->host_memory ? ", host memory" : "");
  for (int i = 0; i < d->n_kernels; i++) {
    const tw_kernel_desc *k = &d->kernels[i];
    if (k->any_shape)
      printf("  kernel %-14s any shape%s\n", k->name, k->accumulates_k ? ", accumulates over K" : "");
    else
      printf("  kernel %-14s %dx%d . %dx%d%s%s, %zu bytes per invocation\n", k->name, k->m, k->k,
             k->k, k->n, k->accumulates_k ? ", accumulates over K" : "",
             k->bf16_out ? ", bf16 output" : "", k->dev_mem_bytes);
  }
  print_calibration(&d->calibration, 0);
}

int tw_cli_devices(int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (tw_arg_is_help(argv[i])) return tw_usage_print("tilewhisper devices [--json]");
    else return tw_usage_error("devices", "tilewhisper devices [--json]", "unknown option '%s'", argv[i]);
  }
  if (json) printf("[");
  int first = 1, status = 0;
  for (const char *const *n = tw_device_kinds(); *n; n++) {
    tw_device *dev;
    tw_device_options o;
    tw_device_options_init(&o);
    o.name = *n;
    o.threads = 1; /* nothing is prepared: no workers needed */
    tw_device_info info;
    int rc = tw_device_create(&o, &dev);
    if (!rc) rc = tw_device_query(dev, &info);
    if (rc) {
      fprintf(stderr, "tilewhisper devices: %s: %s\n", *n, tw_last_error());
      status = 1;
      tw_device_destroy(dev);
      continue;
    }
    print_device(&info, json, first);
    first = 0;
    tw_device_destroy(dev);
  }
  if (json) printf("]\n");
  return status;
}

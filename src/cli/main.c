#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: tilewhisper <command> [options]\n"
          "\n"
          "commands:\n"
          "  gemm M K N [--device D] [--kernel MxKxN] [--threads N] [--json]\n"
          "                       run one GEMM, print its plan, cost and error\n"
          "  devices [--json]     list devices, their kernels and costs\n"
          "  bench-opencl [--json] [--runs N] [--quick]   the seed's strategies, measured\n"
          "  --help, --version\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) return tw_cli_version();
  if (!strcmp(cmd, "gemm")) return tw_cli_gemm(argc - 1, argv + 1);
  if (!strcmp(cmd, "devices")) return tw_cli_devices(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench-opencl")) return tw_bench_opencl(argc - 1, argv + 1);
  fprintf(stderr, "tilewhisper: unknown command '%s'\n", cmd);
  print_usage(stderr);
  return 2;
}

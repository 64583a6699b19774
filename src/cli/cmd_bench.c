/* tilewhisper bench [--gemm|--encoder|--decoder|--opencl] ...: picks a benchmark
 * family from bench/ (default: the invocation study) and hands it the rest
 * of the arguments. */
#include <string.h>

#include "bench.h"
#include "cli.h"

typedef int (*bench_fn)(int argc, char **argv);

static const struct {
  const char *flag;
  bench_fn fn;
} families[] = {
    {"--invocations", tw_bench_invocations},
    {"--encoder", tw_bench_encoder},
    {"--decoder", tw_bench_decoder},
    {"--gemm", tw_bench_gemm},
    {"--opencl", tw_bench_opencl},
    {"--memory", tw_bench_memory},
    {"--transcribe", tw_bench_transcribe},
};

int tw_cli_bench(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
      if (!strcmp(argv[i], families[f].flag)) {
        /* drop the family flag: shift the rest down over it */
        for (int j = i; j + 1 < argc; j++) argv[j] = argv[j + 1];
        return families[f].fn(argc - 1, argv);
      }
  return tw_bench_invocations(argc, argv);
}

/* Benchmarks run by the tilewhisper tool.  Each takes argv from its own name
 * on and returns the process exit code: 0 success, 1 failure, 2 usage. */
#ifndef TW_BENCH_BENCH_H
#define TW_BENCH_BENCH_H

/* `tilewhisper bench`: the invocation study.  The seed's (3001,512)@(512,512)
 * and one Whisper-base encoder pass under every dispatch strategy, on the
 * emulated accelerator: counts, modeled device time per cost profile,
 * measured wall time and error.  --help lists the options. */
int tw_bench_invocations(int argc, char **argv);

int tw_bench_opencl(int argc, char **argv); /* bench_opencl.c: the seed's strategies, measured */

#endif

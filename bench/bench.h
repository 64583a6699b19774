/* Benchmarks run by `tilewhisper bench...`; each takes argv from its own
 * name on and returns a process exit code. */
#ifndef TW_BENCH_BENCH_H
#define TW_BENCH_BENCH_H

int tw_bench_opencl(int argc, char **argv); /* bench_opencl.c: the seed's strategies, measured */

#endif

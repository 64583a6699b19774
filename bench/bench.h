/* Benchmarks run by the tilewhisper tool.  Each takes argv from its own name
 * on and returns the process exit code: 0 success, 1 failure, 2 usage. */
#ifndef TW_BENCH_BENCH_H
#define TW_BENCH_BENCH_H

/* `tilewhisper bench`: the invocation study.  The seed's (3001,512)@(512,512)
 * and one Whisper-base encoder pass under every dispatch strategy, on the
 * emulated accelerator: counts, modeled device time per cost profile,
 * measured wall time and error.  --help lists the options. */
int tw_bench_invocations(int argc, char **argv);

/* `tilewhisper bench --encoder`: a synthetic base-sized model, one 30 s
 * window, cpu device at 1 and 2 threads, and the emu device's invocation
 * count and modeled time for the same pass. */
int tw_bench_encoder(int argc, char **argv);

/* `tilewhisper bench --opencl`: the seed's strategies on the OpenCL device,
 * measured wall times. */
int tw_bench_opencl(int argc, char **argv);

#endif

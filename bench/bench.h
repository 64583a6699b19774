/* Benchmarks run by `tilewhisper bench`. */
#ifndef TW_BENCH_BENCH_H
#define TW_BENCH_BENCH_H

#include "core/threadpool.h"

/* `tilewhisper bench --gemm [--json] [--runs N] [--threads N] [--quick]`:
 * GFLOP/s of the cpu device (bf16 and fp32 weight storage) and OpenBLAS
 * sgemm (when built with TW_HAVE_OPENBLAS) on Whisper's GEMM shapes, against
 * a measured FMA peak and memory bandwidth.  argv[0] is the subcommand.
 * Returns a process exit code. */
int tw_bench_gemm(int argc, char **argv);

/* bench_machine.c: measured machine limits on `pool`'s threads, from the
 * median of `runs` timed runs (its time in *median_s).  FMA peak in flop/s
 * (the faster of 256- and 512-bit FMAs); read bandwidth in bytes/s; copy
 * bandwidth in bytes moved (read + written) per second. */
double tw_bench_fma_peak(tw_threadpool *pool, int runs, double *median_s);
double tw_bench_read_bw(tw_threadpool *pool, int runs, double *median_s);
double tw_bench_copy_bw(tw_threadpool *pool, int runs, double *median_s);

/* Median of n doubles (sorts v). */
double tw_bench_median(double *v, int n);

#endif

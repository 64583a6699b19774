/* Benchmarks run by the tilewhisper tool.  Each takes argv from its own name
 * on and returns the process exit code: 0 success, 1 failure, 2 usage. */
#ifndef TW_BENCH_BENCH_H
#define TW_BENCH_BENCH_H

#include <stddef.h>

#include "tilewhisper/tilewhisper.h"

/* `tilewhisper bench`: the invocation study.  The seed's (3001,512)@(512,512)
 * and one Whisper-base encoder pass under every dispatch strategy, on the
 * emulated accelerator: counts, modeled device time per cost profile,
 * measured wall time and error.  --help lists the options. */
int tw_bench_invocations(int argc, char **argv);

/* `tilewhisper bench --encoder`: a synthetic base-sized model, one 30 s
 * window, cpu device at 1 and 2 threads, and the emu device's invocation
 * count and modeled time for the same pass. */
int tw_bench_encoder(int argc, char **argv);

/* `tilewhisper bench --decoder`: a synthetic base-sized model's text
 * decoder on the cpu device (steps at B = 1 and 5, cross K/V, prefill,
 * weight bytes per step against the read bandwidth) and one M = 1 step on
 * the emulated accelerator. */
int tw_bench_decoder(int argc, char **argv);

/* `tilewhisper bench --opencl`: the seed's strategies on the OpenCL device,
 * measured wall times. */
int tw_bench_opencl(int argc, char **argv);

/* `tilewhisper bench --gemm [--json] [--runs N] [--threads N] [--quick]`:
 * GFLOP/s of the cpu device (bf16 and fp32 weight storage) and OpenBLAS
 * sgemm (when built with TW_HAVE_OPENBLAS) on Whisper's GEMM shapes, against
 * a measured FMA peak and memory bandwidth.  argv[0] is the subcommand.
 * Returns a process exit code. */
int tw_bench_gemm(int argc, char **argv);

/* `tilewhisper bench --memory [--streams N]`: resident memory of one model
 * with N states against N models with one state each. */
int tw_bench_memory(int argc, char **argv);

/* `tilewhisper bench --transcribe`: jfk.wav end to end (load, mel, encoder,
 * decoder, total, tokens, real-time factor) on a synthetic base model at
 * greedy and beam 5 with a fixed token budget per window. */
int tw_bench_transcribe(int argc, char **argv);

/* bench_machine.c: measured machine limits on `threads` threads at once,
 * from the median of `runs` timed runs (its time in *median_s).  FMA peak in flop/s
 * (the faster of 256- and 512-bit FMAs); read bandwidth in bytes/s; copy
 * bandwidth in bytes moved (read + written) per second. */
double tw_bench_fma_peak(int threads, int runs, double *median_s);
/* VDPBF16PS throughput in flop/s (64 per instruction); 0 without
 * AVX512_BF16. */
double tw_bench_dp_peak(int threads, int runs, double *median_s);
/* TDPBF16PS peak (AMX), or 0 where the CPU or OS does not allow it. */
double tw_bench_amx_peak(int threads, int runs, double *median_s);
double tw_bench_read_bw(int threads, int runs, double *median_s);
double tw_bench_copy_bw(int threads, int runs, double *median_s);

/* bench_blas.c: the OpenBLAS baseline made fair (see the file). */
typedef struct tw_blas_row {
  char shape[64];
  double median_s, gflops;
} tw_blas_row;
/* openblas_get_corename(), "absent" without OpenBLAS. */
const char *tw_bench_blas_corename(void);
/* The OPENBLAS_CORETYPE to measure instead when the autodetected core is an
 * older generic one than this CPU runs (e.g. Prescott on an AVX-512 CPU);
 * NULL when the autodetected core is fair (or unknown). */
const char *tw_bench_blas_fair_core(void);
/* The OPENBLAS_* variables in effect, for the header. */
void tw_bench_blas_env(char *buf, size_t cap);
/* Runs `bench --gemm --openblas-only` in a child with OPENBLAS_CORETYPE =
 * core; fills up to cap rows and the core the child reports.  Returns the
 * row count, or -1 when the child failed. */
int tw_bench_blas_child(const char *core, int threads, int runs, const char *only, int quick,
                        tw_blas_row *rows, int cap, char *child_core, size_t core_cap);

/* bench_model.c: a synthetic model of `size` written to a new temporary
 * file (its name in path; the caller unlinks it) and its facts in *info;
 * messages start with `who`. */
int tw_bench_synth_model(const char *who, const char *size, char *path, size_t cap,
                         tw_model_info *info);

/* Median of n doubles (sorts v). */
double tw_bench_median(double *v, int n);

#endif

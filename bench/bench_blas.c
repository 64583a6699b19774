/* The OpenBLAS baseline of `bench --gemm`, made fair.  A DYNAMIC_ARCH
 * OpenBLAS picks its kernels from CPUID when the library loads; one that
 * does not know the CPU model falls back to an old generic core (Debian's
 * 0.3.21 runs Intel family 6 model 207 on its Prescott SSE3 kernels, 5x
 * below what the CPU can do).  The core can only be chosen before the
 * library initialises, through OPENBLAS_CORETYPE, so the fair measurement
 * runs in a child: this same executable re-run as
 * `bench --gemm --openblas-only` with the variable set. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifdef TW_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* Cores from oldest to newest, each with the rank of the ISA it uses: 0 SSE
 * only, 1 AVX, 2 AVX2+FMA, 3 AVX-512, 4 AVX-512 with BF16.  Names as
 * openblas_get_corename() prints them (case differs between versions). */
typedef struct core_rank {
  const char *name;
  int rank;
} core_rank;

static const core_rank cores[] = {
    {"prescott", 0},   {"core2", 0},     {"penryn", 0},      {"dunnington", 0},
    {"nehalem", 0},    {"atom", 0},      {"katmai", 0},      {"coppermine", 0},
    {"northwood", 0},  {"banias", 0},    {"opteron", 0},     {"barcelona", 0},
    {"bobcat", 0},     {"sandybridge", 1}, {"bulldozer", 1}, {"piledriver", 1},
    {"steamroller", 1}, {"excavator", 1}, {"haswell", 2},    {"zen", 2},
    {"skylakex", 3},   {"cooperlake", 4}, {"sapphirerapids", 4},
};

/* -1 for a name this table does not know (never treated as a fallback). */
static int rank_of(const char *name) {
  char low[32];
  size_t i = 0;
  for (; name[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)name[i]);
  low[i] = '\0';
  for (size_t k = 0; k < sizeof cores / sizeof cores[0]; k++)
    if (!strcmp(low, cores[k].name)) return cores[k].rank;
  return -1;
}

/* The newest core this CPU runs, by CPUID, with its rank; NULL off x86. */
static const char *best_core(int *rank) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512cd");
  /* COOPERLAKE: AVX-512 with BF16, a core name Debian's 0.3.21 knows
   * (newer names would be unknown to it and ignored) */
  if (avx512 && __builtin_cpu_supports("avx512bf16")) return *rank = 4, "COOPERLAKE";
  if (avx512) return *rank = 3, "SKYLAKEX";
  if (avx2) return *rank = 2, "HASWELL";
#endif
  *rank = 0;
  return NULL;
}

const char *tw_bench_blas_corename(void) {
#ifdef TW_HAVE_OPENBLAS
  const char *name = openblas_get_corename();
  return name ? name : "unknown";
#else
  return "absent";
#endif
}

const char *tw_bench_blas_fair_core(void) {
  int best_rank;
  const char *best = best_core(&best_rank);
  int have = rank_of(tw_bench_blas_corename());
  if (!best || have < 0 || have >= best_rank) return NULL;
  return best;
}

void tw_bench_blas_env(char *buf, size_t cap) {
  const char *core = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
  const char *nt = getenv("OPENBLAS_NUM_THREADS");
  snprintf(buf, cap, "OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s OPENBLAS_NUM_THREADS=%s",
           core ? core : "(unset)", l2 ? l2 : "(unset)", nt ? nt : "(unset)");
}

/* Child: stdout to the pipe, the core in the environment, then exec. */
static void exec_child(int fd, const char *core, char **argv) {
  dup2(fd, STDOUT_FILENO);
  close(fd);
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  _exit(127);
}

int tw_bench_blas_child(const char *core, int threads, int runs, const char *only, int quick,
                        tw_blas_row *rows, int cap, char *child_core, size_t core_cap) {
  char t[16], r[16];
  snprintf(t, sizeof t, "%d", threads);
  snprintf(r, sizeof r, "%d", runs);
  char *argv[12] = {"tilewhisper", "bench", "--gemm", "--openblas-only", "--threads", t,
                    "--runs", r};
  int argc = 8;
  if (only) argv[argc++] = "--shape", argv[argc++] = (char *)only;
  if (quick) argv[argc++] = "--quick";
  argv[argc] = NULL;
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    exec_child(fds[1], core, argv);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  int n = 0;
  char line[256];
  child_core[0] = '\0';
  while (f && fgets(line, sizeof line, f)) {
    char name[64];
    if (sscanf(line, "core %63s", name) == 1) {
      snprintf(child_core, core_cap, "%s", name);
    } else if (n < cap && sscanf(line, "%63s %lf %lf", rows[n].shape, &rows[n].median_s,
                                 &rows[n].gflops) == 3) {
      n++;
    }
  }
  if (f) fclose(f);
  else close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return n;
}

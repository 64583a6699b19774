/* tilewhisper bench --memory: what N streams over one model cost against N
 * separate models.  A synthetic base model (f16 file, bf16 weights on the
 * cpu device); resident memory (VmRSS) after building, each configuration
 * measured in a child process of its own so one cannot reuse the other's
 * freed pages. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "tilewhisper/tilewhisper.h"

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

/* In a child: n_models models with n_states states each, one encode per
 * state; writes the RSS growth (KiB) to the pipe. */
static void child(const char *path, int n_models, int n_states, int fd) {
  tw_model *models[8] = {0};
  tw_state *states[8] = {0};
  float *pcm = calloc(16000, sizeof *pcm);
  long before = rss_kib(), grown = -1;
  int rc = pcm ? TW_OK : TW_ENOMEM, k = 0;
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.threads = 1;
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = 1;
  for (int m = 0; m < n_models && !rc; m++) {
    rc = tw_model_load_file(path, &mo, &models[m]);
    for (int s = 0; s < n_states && !rc; s++, k++) {
      rc = tw_state_create(models[m], &so, &states[k]);
      if (!rc) rc = tw_state_set_pcm(states[k], pcm, 16000, NULL);
      if (!rc) rc = tw_encode_window(states[k], 0, NULL, NULL);
    }
  }
  if (!rc) grown = rss_kib() - before;
  else fprintf(stderr, "bench --memory: %s\n", tw_last_error());
  if (write(fd, &grown, sizeof grown) != (ssize_t)sizeof grown) grown = -1;
  for (int i = 0; i < k; i++) tw_state_destroy(states[i]);
  for (int m = 0; m < n_models; m++) tw_model_destroy(models[m]);
  free(pcm);
}

static long measure(const char *path, int n_models, int n_states) {
  int p[2];
  if (pipe(p)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    child(path, n_models, n_states, p[1]);
    _exit(0);
  }
  close(p[1]);
  long kib = -1;
  if (pid < 0 || read(p[0], &kib, sizeof kib) != (ssize_t)sizeof kib) kib = -1;
  close(p[0]);
  if (pid > 0) waitpid(pid, NULL, 0);
  return kib;
}

int tw_bench_memory(int argc, char **argv) {
  int n = 4;
  static const char *usage = "usage: tilewhisper bench --memory [--streams N (1..8)]\n";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--streams") && i + 1 < argc) {
      n = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("%s", usage);
      return 0;
    } else {
      fprintf(stderr, "bench --memory: unknown option '%s'\n%s", argv[i], usage);
      return 2;
    }
  }
  if (n < 1 || n > 8) {
    fprintf(stderr, "bench --memory: --streams wants 1..8\n");
    return 2;
  }
  char path[] = "/tmp/tilewhisper-mem-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  tw_synth_options so = {.size = "base", .seed = 1};
  if (tw_synth_model_write(&so, path)) {
    fprintf(stderr, "bench --memory: %s\n", tw_last_error());
    unlink(path);
    return 1;
  }
  long one = measure(path, 1, 1), shared = measure(path, 1, n), separate = measure(path, n, 1);
  unlink(path);
  if (one < 0 || shared < 0 || separate < 0) return 1;
  printf("memory (VmRSS growth), synthetic base model on cpu, bf16 weights, one window each:\n");
  printf("  1 model + 1 state    %8.1f MiB\n", one / 1024.0);
  printf("  1 model + %d states   %8.1f MiB  (%.1f MiB per extra state)\n", n, shared / 1024.0,
         n > 1 ? (shared - one) / 1024.0 / (n - 1) : 0.0);
  printf("  %d models + %d states  %8.1f MiB  (%.2fx the shared model)\n", n, n,
         separate / 1024.0, (double)separate / (double)shared);
  return 0;
}

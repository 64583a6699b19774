/* Atomic outputs: committed data appears whole under its name; an aborted
 * or killed writer leaves no file, no temporary and an existing file
 * untouched; errors carry the system's reason; same-file detection. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "tw_test.h"

static char dir[] = "/tmp/tw_atomic_XXXXXX";

static int entries(void) { /* files in dir */
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.' || strlen(e->d_name) > 2;
  if (d) closedir(d);
  return n;
}

static int read_back(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t k = fread(buf, 1, cap - 1, f);
  buf[k] = '\0';
  fclose(f);
  return (int)k;
}

static void test_commit_abort(void) {
  char path[128], buf[64];
  snprintf(path, sizeof path, "%s/out.bin", dir);
  tw_atomic_file af;
  tw_errbuf err = {{0}};
  CHECK_MSG(tw_atomic_open(&af, path, &err) == 0, "%s", err.msg);
  fputs("first", af.f);
  CHECK(access(path, F_OK) != 0); /* nothing under the name before commit */
  CHECK_MSG(tw_atomic_commit(&af, &err) == 0, "%s", err.msg);
  CHECK(read_back(path, buf, sizeof buf) == 5 && !strcmp(buf, "first") && af.f == NULL);
  CHECK(entries() == 1);
  /* an aborted rewrite leaves the old content and no temporary */
  CHECK(tw_atomic_open(&af, path, &err) == 0);
  fputs("second, longer", af.f);
  tw_atomic_abort(&af);
  CHECK(read_back(path, buf, sizeof buf) == 5 && !strcmp(buf, "first"));
  CHECK(entries() == 1);
  tw_atomic_abort(&af); /* twice is harmless */
  /* a committed rewrite replaces it whole */
  CHECK(tw_atomic_open(&af, path, &err) == 0);
  fputs("third", af.f);
  CHECK(tw_atomic_commit(&af, &err) == 0 && read_back(path, buf, sizeof buf) == 5 &&
        !strcmp(buf, "third") && entries() == 1);
  /* an aborted first write leaves nothing */
  char fresh[128];
  snprintf(fresh, sizeof fresh, "%s/fresh.bin", dir);
  CHECK(tw_atomic_open(&af, fresh, &err) == 0);
  fputs("x", af.f);
  tw_atomic_abort(&af);
  CHECK(access(fresh, F_OK) != 0 && entries() == 1);
  unlink(path);
}

/* A writer killed mid-file leaves no file (O_TMPFILE has no name); with
 * the named fallback the temporary is the one thing left. */
static void test_killed(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/killed.bin", dir);
  int pfd[2];
  CHECK(pipe(pfd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    tw_atomic_file af;
    tw_errbuf err;
    char named = 'x';
    if (tw_atomic_open(&af, path, &err) == 0) {
      fputs("partial", af.f);
      fflush(af.f);
      named = af.tmp_path ? 'n' : 'a';
    }
    if (write(pfd[1], &named, 1) != 1) _exit(3);
    raise(SIGKILL);
  }
  close(pfd[1]);
  char mode = 0;
  CHECK(read(pfd[0], &mode, 1) == 1);
  close(pfd[0]);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  CHECK(access(path, F_OK) != 0);
  CHECK_MSG(mode == 'a' ? entries() == 0 : mode == 'n' && entries() == 1, "mode %c, %d files",
            mode, entries());
  if (mode == 'n') printf("test_atomic_file: no O_TMPFILE here, a named temporary remains\n");
  /* clean up the fallback's leftover, if any */
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') {
      char p[512];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  if (d) closedir(d);
}

static void test_errors(void) {
  tw_atomic_file af;
  tw_errbuf err = {{0}};
  CHECK(tw_atomic_open(&af, "/nonexistent-dir/out.bin", &err) == TW_EIO);
  CHECK_MSG(strstr(err.msg, "No such file or directory") && strstr(err.msg, "/nonexistent-dir"),
            "%s", err.msg);
  CHECK(af.f == NULL);
  CHECK(tw_atomic_open(&af, dir, &err) == TW_EIO && strstr(err.msg, "Is a directory"));
  /* a device is written through, never replaced: /dev/null stays a device */
  CHECK(tw_atomic_open(&af, "/dev/null", &err) == 0 && af.direct);
  fputs("discarded", af.f);
  CHECK(tw_atomic_commit(&af, &err) == 0);
  struct stat st;
  CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  /* a write error surfaces at commit with the reason */
  if (access("/dev/full", W_OK) == 0) {
    CHECK(tw_atomic_open(&af, "/dev/full", &err) == 0);
    for (int i = 0; i < 100000; i++) fputs("filling ", af.f);
    CHECK(tw_atomic_commit(&af, &err) == TW_EIO && strstr(err.msg, "No space left"));
  }
}

static void test_same_file(void) {
  char a[128], b[128], c[128];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  snprintf(c, sizeof c, "%s/../%s/a", dir, strrchr(dir, '/') + 1);
  FILE *f = fopen(a, "w");
  fclose(f);
  f = fopen(b, "w");
  fclose(f);
  CHECK(tw_same_file(a, a) && tw_same_file(a, c)); /* another spelling */
  CHECK(!tw_same_file(a, b));
  unlink(b);
  CHECK(link(a, b) == 0 && tw_same_file(a, b)); /* a hard link */
  unlink(b);
  CHECK(symlink(a, b) == 0 && tw_same_file(b, a)); /* a symbolic link */
  /* writing through the link replaces its target and keeps the link */
  tw_atomic_file af;
  tw_errbuf err = {{0}};
  char buf[16];
  CHECK(tw_atomic_open(&af, b, &err) == 0);
  fputs("via", af.f);
  struct stat st;
  CHECK(tw_atomic_commit(&af, &err) == 0 && lstat(b, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(read_back(a, buf, sizeof buf) == 3 && !strcmp(buf, "via"));
  CHECK(!tw_same_file(a, "/nonexistent") && !tw_same_file(NULL, a));
  unlink(a);
  unlink(b);
}

int main(void) {
  CHECK(mkdtemp(dir) != NULL);
  test_commit_abort();
  test_killed();
  test_errors();
  test_same_file();
  rmdir(dir);
  return tw_test_finish("test_atomic_file");
}

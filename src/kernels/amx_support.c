#define _GNU_SOURCE /* syscall() */
/* Whether this process may run Intel AMX tile instructions (AMX-TILE and
 * AMX-BF16).  Three things must hold: the CPU has them (CPUID leaf 7), the
 * OS saves tile state (XCR0 bits 17 and 18), and Linux granted this process
 * the tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM, Linux >= 5.16),
 * without which the first tile instruction raises SIGILL.  The request is
 * process-wide and made once.  This file is compiled for the baseline ISA:
 * it runs on CPUs that have none of these. */
#include "kernels/ukernel.h"

#include <pthread.h>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_ok;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_probe(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
  const int tile = (d >> 24) & 1, bf16 = (d >> 22) & 1;
  const int osxsave = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1);
  if (!tile || !bf16 || !osxsave) return;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if (((lo >> 17) & 3u) != 3u) return; /* XTILECFG and XTILEDATA */
  amx_ok = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int tw_amx_usable(void) {
  pthread_once(&amx_once, amx_probe);
  return amx_ok;
}
#else
int tw_amx_usable(void) { return 0; }
#endif

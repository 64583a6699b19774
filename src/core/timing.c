#define _POSIX_C_SOURCE 200809L
#include "core/timing.h"

#include <time.h>

double tw_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tw_delay(double seconds) {
  if (seconds <= 0) return;
  double end = tw_now() + seconds;
  if (seconds > 50e-6) {
    double s = seconds - 20e-6;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
  }
  while (tw_now() < end) {
  }
}

#ifndef TW_CORE_TIMING_H
#define TW_CORE_TIMING_H

/* Monotonic wall clock in seconds. */
double tw_now(void);

/* Sleeps (or spins, below 50 us, where sleeping overshoots) for `seconds`. */
void tw_delay(double seconds);

#endif

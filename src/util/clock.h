/* Milliseconds, the two clocks moshman uses. */
#ifndef MOSHMAN_CLOCK_H
#define MOSHMAN_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: for timeouts and durations (never steps). */
int64_t clock_mono_ms(void);
/* Wall clock, ms since the epoch: for what is stored and compared across processes. */
int64_t clock_epoch_ms(void);

#endif

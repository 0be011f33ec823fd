/* SPDX-License-Identifier: MIT */
/* Milliseconds, the two clocks moshman uses. */
#ifndef MOSHMAN_CLOCK_H
#define MOSHMAN_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: for timeouts and durations (never steps). */
int64_t clock_mono_ms(void);
/* CLOCK_BOOTTIME: like CLOCK_MONOTONIC, but it also runs while the machine is suspended
 * (src/link/wake.h compares the two). */
int64_t clock_boot_ms(void);
/* Wall clock, ms since the epoch: for what is stored and compared across processes. */
int64_t clock_epoch_ms(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Wake from a suspend, as a pure detector.  CLOCK_BOOTTIME runs while the machine sleeps,
 * CLOCK_MONOTONIC does not: a jump between the two across one tick is a suspend.  A
 * process that was frozen (SIGSTOP, a stopped VM, a machine too busy to run it) sees both
 * clocks run on but its 1 s tick arrive late.  Either way the network the link used may
 * be gone and the peer may have given up on the old path: the owner treats it like a
 * network change (src/link/netwatch.h).  The caller feeds both clocks once per tick;
 * tests/unit/test_wake.c drives it with given values.
 */
#ifndef MOSHMAN_WAKE_H
#define MOSHMAN_WAKE_H

#include <stddef.h>
#include <stdint.h>

#define WAKE_TICK_MS 1000 /* the owner's tick */
/* Boot time ahead of monotonic time by this much across one tick: the machine slept. */
#define WAKE_SUSPEND_MS 1500
/* A tick this much later than due: the process was frozen (load alone rarely does it). */
#define WAKE_LATE_MS 2500

struct wake {
	int primed;
	int64_t boot, mono; /* at the last tick */
};

void wake_init(struct wake *);
/* One tick at these clock values (ms).  1 when the process slept or was frozen since the
 * last tick (why says which and how long), else 0. */
int wake_tick(struct wake *, int64_t boot_ms, int64_t mono_ms, char *why, size_t whysz);

#endif

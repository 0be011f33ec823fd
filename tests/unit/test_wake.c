/* SPDX-License-Identifier: MIT */
/* The wake detector (src/link/wake.c): given clock values, one tick at a time. */
#include "tests/unit/unit.h"

#include "src/link/wake.h"

static char why[128];

static void
test_steady_ticks(void)
{
	struct wake w;
	int hits = 0;

	wake_init(&w);
	/* Boot time starts ahead (an earlier suspend): only deltas count. */
	for (int64_t t = 0; t <= 600000; t += 1000)
		hits += wake_tick(&w, 5000000 + t, 1000 + t, why, sizeof why);
	CHECK_INT(hits, 0);
}

static void
test_first_tick_primes(void)
{
	struct wake w;

	wake_init(&w);
	CHECK_INT(wake_tick(&w, 99000000, 1000, why, sizeof why), 0);
	CHECK_INT(wake_tick(&w, 99001000, 2000, why, sizeof why), 0);
}

static void
test_suspend(void)
{
	struct wake w;

	wake_init(&w);
	CHECK_INT(wake_tick(&w, 10000, 10000, why, sizeof why), 0);
	/* Slept 30 s: monotonic moved one tick, boot time 31 s. */
	CHECK_INT(wake_tick(&w, 41000, 11000, why, sizeof why), 1);
	CHECK_HAS(why, "suspend of 30.0 s");
	/* The next tick is normal again. */
	CHECK_INT(wake_tick(&w, 42000, 12000, why, sizeof why), 0);
}

static void
test_short_suspend_below_threshold(void)
{
	struct wake w;
	int64_t boot = 0;

	wake_init(&w);
	wake_tick(&w, 0, 0, why, sizeof why);
	/* Boot time gaining just under the threshold at every tick never adds up. */
	for (int i = 1; i <= 5; i++) {
		boot += 1000 + WAKE_SUSPEND_MS - 1;
		CHECK_INT(wake_tick(&w, boot, 1000 * i, why, sizeof why), 0);
	}
	boot += 1000 + WAKE_SUSPEND_MS;
	CHECK_INT(wake_tick(&w, boot, 6000, why, sizeof why), 1);
}

static void
test_frozen(void)
{
	struct wake w;

	wake_init(&w);
	wake_tick(&w, 0, 0, why, sizeof why);
	/* SIGSTOP for 20 s: both clocks ran, the tick came 21 s after the last. */
	CHECK_INT(wake_tick(&w, 21000, 21000, why, sizeof why), 1);
	CHECK_HAS(why, "20.0 s frozen");
}

static void
test_late_under_load(void)
{
	struct wake w;

	wake_init(&w);
	wake_tick(&w, 0, 0, why, sizeof why);
	/* A tick 2 s late is load, not a freeze. */
	CHECK_INT(wake_tick(&w, 3000, 3000, why, sizeof why), 0);
	CHECK_INT(wake_tick(&w, 3000 + WAKE_TICK_MS + WAKE_LATE_MS,
	              3000 + WAKE_TICK_MS + WAKE_LATE_MS, why, sizeof why),
	    1);
}

static void
test_clock_going_back_is_ignored(void)
{
	struct wake w;

	wake_init(&w);
	wake_tick(&w, 50000, 50000, why, sizeof why);
	CHECK_INT(wake_tick(&w, 10000, 51000, why, sizeof why), 0);
	CHECK_INT(wake_tick(&w, 11000, 52000, why, sizeof why), 0);
}

int
main(void)
{
	UNIT_BEGIN("test_wake");
	RUN(test_steady_ticks);
	RUN(test_first_tick_primes);
	RUN(test_suspend);
	RUN(test_short_suspend_below_threshold);
	RUN(test_frozen);
	RUN(test_late_under_load);
	RUN(test_clock_going_back_is_ignored);
	UNIT_END();
}

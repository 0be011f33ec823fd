/* SPDX-License-Identifier: MIT */
/* The degraded verdict (src/link/health.c): a pure function of timestamps and the RTT. */
#include "tests/unit/unit.h"

#include "src/link/health.h"

static char why[128];

static struct health_in
at(int64_t now, int64_t last_tx, int64_t last_rx)
{
	struct health_in in;

	memset(&in, 0, sizeof in);
	in.now = now;
	in.since = 1000;
	in.last_tx = last_tx;
	in.last_rx = last_rx;
	in.rtt_ms = -1;
	return in;
}

/* Neither side sends: a quiet session is not a sick one, however long it lasts. */
static void
test_idle_is_not_degraded(void)
{
	struct health_in in = at(600000, 5000, 5100);

	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	CHECK_STR(why, "");
	in = at(600000, 0, 0);
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	/* The client spoke last, but long ago (it is not sending now). */
	in = at(600000, 590000, 589000);
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
}

/* mosh's heartbeats (each side every 3 s, out of phase) seen by a 1 s tick for a
 * minute: never degraded. */
static void
test_heartbeats_are_fine(void)
{
	int64_t tx = 0, rx = 0;
	int bad = 0;

	for (int64_t t = 1000; t <= 61000; t += 100) {
		if (t % 3000 == 0)
			tx = t;
		if (t % 3000 == 1500)
			rx = t;
		if (t % 1000 == 0) {
			struct health_in in = at(t, tx, rx);

			bad += health_judge(&in, why, sizeof why);
		}
	}
	CHECK_INT(bad, 0);
}

/* The client keeps sending, the server went silent: degraded once the silence exceeds
 * 3.5 s, not before; the reason says how long. */
static void
test_one_sided_silence(void)
{
	struct health_in in = at(13500, 13000, 10000);

	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	in = at(13501, 13000, 10000);
	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	CHECK_HAS(why, "no reply for 3.5 s");
	in = at(16000, 15900, 10000);
	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	CHECK_HAS(why, "no reply for 6.0 s while the client sends");
	/* A reply older than the client's datagram but the client's datagram stale. */
	in = at(30000, 23000, 10000);
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
}

/* A reply comes back: up again, and the reason says so. */
static void
test_recovery(void)
{
	struct health_in in = at(16000, 15900, 10000);

	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	in = at(17000, 16900, 16950);
	in.degraded = 1;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	CHECK_STR(why, "replies again");
	in.rtt_ms = 40;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	CHECK_STR(why, "replies again (round trip 40 ms)");
}

/* Silence counts from the link's (re)start, not from a reply before an outage. */
static void
test_since(void)
{
	struct health_in in = at(52000, 51900, 10000);

	in.since = 50000;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	in.now = 53600;
	in.last_tx = 53500;
	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	CHECK_HAS(why, "no reply for 3.6 s");
}

/* RTT: over 1000 ms degraded; back under 800 ms up; in between it keeps its verdict. */
static void
test_rtt_threshold(void)
{
	struct health_in in = at(20000, 19900, 19950);

	in.rtt_ms = 1000;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	in.rtt_ms = 1001;
	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	CHECK_HAS(why, "round trip 1001 ms (over 1000 ms)");
	in.degraded = 1;
	in.rtt_ms = 900;
	CHECK_INT(health_judge(&in, why, sizeof why), 1);
	CHECK_HAS(why, "round trip 900 ms (over 800 ms)");
	in.rtt_ms = 799;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	CHECK_STR(why, "replies again (round trip 799 ms)");
	in.degraded = 0;
	in.rtt_ms = 900;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
	in.rtt_ms = -1;
	CHECK_INT(health_judge(&in, why, sizeof why), 0);
}

/* A tiny reason buffer is never overrun. */
static void
test_small_buffer(void)
{
	struct health_in in = at(16000, 15900, 10000);
	char small[8];

	memset(small, 'x', sizeof small);
	CHECK_INT(health_judge(&in, small, sizeof small), 1);
	CHECK_INT(strlen(small), 7);
	CHECK_INT(health_judge(&in, NULL, 0), 1);
}

int
main(void)
{
	UNIT_BEGIN("test_health");
	RUN(test_idle_is_not_degraded);
	RUN(test_heartbeats_are_fine);
	RUN(test_one_sided_silence);
	RUN(test_recovery);
	RUN(test_since);
	RUN(test_rtt_threshold);
	RUN(test_small_buffer);
	UNIT_END();
}

/* SPDX-License-Identifier: MIT */
/* The auto path policy (src/link/pathsel.c): a pure state machine driven by timed events. */
#include "tests/unit/unit.h"

#include "src/link/pathsel.h"

static char why[128];
static int64_t was;

/* Client datagrams every 500 ms from t0 to t1, server replies over UDP when udp_ok
 * (answers: "heard", as every datagram is without the key); ticks every second.  Returns
 * the time of the first switch, or -1. */
static int64_t
run(struct pathsel *ps, int64_t t0, int64_t t1, int udp_ok)
{
	for (int64_t t = t0; t <= t1; t += 500) {
		pathsel_client_tx(ps, t);
		if (udp_ok && pathsel_send_udp(ps, t))
			pathsel_udp_heard(ps, t + 20);
		if (t % 1000 == 0 && pathsel_tick(ps, t + 30, why, sizeof why, &was))
			return t;
	}
	return -1;
}

static void
test_starts_on_udp(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	CHECK_INT(ps.path, PATHSEL_UDP);
	CHECK(pathsel_send_udp(&ps, 0));
	CHECK(!pathsel_send_tcp(&ps, 0));
	CHECK_INT(run(&ps, 0, 60000, 1), -1);
	CHECK_INT(ps.path, PATHSEL_UDP);
}

static void
test_no_udp_at_start(void)
{
	struct pathsel ps;
	int64_t t;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	t = run(&ps, 0, 60000, 0);
	CHECK(t >= PATHSEL_START_MS && t <= PATHSEL_START_MS + 1000);
	CHECK_INT(ps.path, PATHSEL_TCP);
	CHECK_HAS(why, "no UDP reply within");
	CHECK(pathsel_send_tcp(&ps, t + 1));
}

static void
test_no_tcp_stays_on_udp(void)
{
	struct pathsel ps;

	/* UDP silent but the tunnel is not up: nothing better to switch to. */
	pathsel_init(&ps, 0, 1);
	CHECK_INT(run(&ps, 0, 30000, 0), -1);
	CHECK_INT(ps.path, PATHSEL_UDP);
	pathsel_tcp_state(&ps, 1);
	CHECK(run(&ps, 30500, 40000, 0) != -1);
	CHECK_INT(ps.path, PATHSEL_TCP);
}

static void
test_udp_goes_silent_and_returns(void)
{
	struct pathsel ps;
	int64_t t, back, probes = 0;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	CHECK_INT(run(&ps, 0, 20000, 1), -1);
	/* Blocked at 20 s, while the client sends every 500 ms: an unanswered train. */
	t = run(&ps, 20500, 60000, 0);
	CHECK(t >= 20500 + PATHSEL_UNHEARD_MS - 1000 && t <= 20500 + PATHSEL_UNHEARD_MS + 1000);
	CHECK_HAS(why, "UDP silent for");
	CHECK_INT(ps.path, PATHSEL_TCP);
	CHECK(was >= 20000);
	/* On TCP, UDP still blocked: probes now and then, no switch, TCP always used. */
	for (int64_t u = t; u < t + 60000; u += 500) {
		CHECK(pathsel_send_tcp(&ps, u));
		probes += pathsel_send_udp(&ps, u);
		pathsel_client_tx(&ps, u);
		if (u % 1000 == 0)
			CHECK_INT(pathsel_tick(&ps, u, why, sizeof why, &was), 0);
	}
	CHECK(probes > 0);
	CHECK(probes < 60000 / 500 / 2); /* probing is the exception */
	/* UDP reopens: within a probe interval, back to UDP. */
	back = run(&ps, t + 60000, t + 120000, 1);
	CHECK(back != -1);
	CHECK(back - (t + 60000) <= PATHSEL_PROBE_EVERY_MS + PATHSEL_PROBE_MS);
	CHECK_INT(ps.path, PATHSEL_UDP);
	CHECK_HAS(why, "UDP answers again");
}

static void
test_tcp_down_sends_both(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	CHECK(run(&ps, 0, 10000, 0) != -1);
	CHECK_INT(ps.path, PATHSEL_TCP);
	pathsel_tcp_state(&ps, 0);
	CHECK(pathsel_send_udp(&ps, 10001));
	CHECK(pathsel_send_tcp(&ps, 10001));
}

static void
test_no_udp_address(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 0);
	CHECK_INT(ps.path, PATHSEL_TCP);
	CHECK(!pathsel_send_udp(&ps, 0));
	CHECK(pathsel_send_tcp(&ps, 0));
	CHECK_INT(run(&ps, 0, 60000, 1), -1);
	CHECK_STR(pathsel_name(PATHSEL_TCP), "tcp");
	CHECK_STR(pathsel_name(PATHSEL_UDP), "udp");
}

/* UDP lost client-to-server only: mosh-server's heartbeats (every 3 s, answering
 * nothing) keep arriving while mosh-client resends a typed line every 500 ms. */
static void
test_one_way_loss_moves_to_tcp(void)
{
	struct pathsel ps;
	int64_t t, sw = -1;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	pathsel_client_tx(&ps, 100);
	pathsel_udp_heard(&ps, 120);
	for (t = 10000; t <= 30000 && sw < 0; t += 250) {
		if (t % 500 == 0)
			pathsel_client_tx(&ps, t);
		if (t % 3000 == 0)
			pathsel_udp_rx(&ps, t + 5);
		if (t % 1000 == 0 && pathsel_tick(&ps, t, why, sizeof why, &was))
			sw = t;
	}
	CHECK_INT(ps.path, PATHSEL_TCP);
	CHECK(sw >= 10000 + PATHSEL_UNHEARD_MS);
	CHECK(sw <= 10000 + PATHSEL_UNHEARD_MS + 1000);
	CHECK_HAS(why, "has not heard the client");
}

/* An idle session: heartbeats both ways every 3 s, out of phase, so the server's never
 * answer a client timestamp (mosh answers only within 1 s).  No train: no switch. */
static void
test_idle_heartbeats_stay_on_udp(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	pathsel_client_tx(&ps, 100);
	pathsel_udp_heard(&ps, 120);
	for (int64_t t = 1000; t <= 120000; t += 500) {
		if (t % 3000 == 0)
			pathsel_client_tx(&ps, t);
		if (t % 3000 == 1500)
			pathsel_udp_rx(&ps, t);
		if (t % 1000 == 0)
			CHECK_INT(pathsel_tick(&ps, t, why, sizeof why, &was), 0);
	}
	CHECK_INT(ps.path, PATHSEL_UDP);
}

/* Typing with answers: trains, each answered within the round trip. */
static void
test_answered_typing_stays_on_udp(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	for (int64_t t = 0; t <= 60000; t += 100) {
		pathsel_client_tx(&ps, t);
		if (t % 300 == 0)
			pathsel_udp_heard(&ps, t + 30);
		if (t % 1000 == 0)
			CHECK_INT(pathsel_tick(&ps, t + 50, why, sizeof why, &was), 0);
	}
	CHECK_INT(ps.path, PATHSEL_UDP);
}

/* On tcp, any datagram of mosh-server's over UDP (a probe answered) brings it back. */
static void
test_talking_udp_brings_it_back(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	pathsel_client_tx(&ps, 100);
	CHECK_INT(pathsel_tick(&ps, 3000, why, sizeof why, &was), 1);
	CHECK_INT(ps.path, PATHSEL_TCP);
	for (int64_t t = 4000; t <= 20000; t += 1000)
		CHECK_INT(pathsel_tick(&ps, t, why, sizeof why, &was), 0);
	pathsel_udp_rx(&ps, 20500);
	CHECK_INT(pathsel_tick(&ps, 21000, why, sizeof why, &was), 1);
	CHECK_INT(ps.path, PATHSEL_UDP);
	CHECK_HAS(why, "answers again");
}

/* A freeze: the client's last datagram before it went unanswered (the network changed
 * meanwhile); the first tick after it must not switch on that stale silence. */
static void
test_freeze_is_not_silence(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	pathsel_client_tx(&ps, 100);
	pathsel_udp_heard(&ps, 120);
	CHECK_INT(pathsel_tick(&ps, 1000, why, sizeof why, &was), 0);
	pathsel_client_tx(&ps, 1500);
	/* Frozen from 1.6 s to 21.6 s. */
	CHECK_INT(pathsel_tick(&ps, 21600, why, sizeof why, &was), 0);
	CHECK_INT(ps.path, PATHSEL_UDP);
	pathsel_client_tx(&ps, 21650);
	pathsel_udp_heard(&ps, 21700);
	CHECK_INT(pathsel_tick(&ps, 22600, why, sizeof why, &was), 0);
	CHECK_INT(ps.path, PATHSEL_UDP);
	/* But a real outage after it is still seen. */
	for (int64_t t = 23000; t <= 30000; t += 500) {
		pathsel_client_tx(&ps, t);
		if (t % 1000 == 0 && pathsel_tick(&ps, t, why, sizeof why, &was))
			break;
	}
	CHECK_INT(ps.path, PATHSEL_TCP);
}

/* A network change drops the silence measured so far and, on TCP, probes UDP now. */
static void
test_network_change(void)
{
	struct pathsel ps;

	pathsel_init(&ps, 0, 1);
	pathsel_tcp_state(&ps, 1);
	pathsel_client_tx(&ps, 100);
	pathsel_udp_heard(&ps, 120);
	pathsel_client_tx(&ps, 1000);
	pathsel_client_tx(&ps, 2000);
	pathsel_network_changed(&ps, 2500);
	CHECK_INT(pathsel_tick(&ps, 3000, why, sizeof why, &was), 0);
	CHECK_INT(pathsel_tick(&ps, 4000, why, sizeof why, &was), 0);
	CHECK_INT(ps.path, PATHSEL_UDP);
	/* On TCP: the probe window opens at once. */
	for (int64_t t = 5000; t <= 20000 && ps.path == PATHSEL_UDP; t += 500) {
		pathsel_client_tx(&ps, t);
		if (t % 1000 == 0)
			pathsel_tick(&ps, t, why, sizeof why, &was);
	}
	CHECK_INT(ps.path, PATHSEL_TCP);
	CHECK(!pathsel_send_udp(&ps, ps.since + 1000));
	pathsel_network_changed(&ps, ps.since + 1000);
	CHECK(pathsel_send_udp(&ps, ps.since + 1000));
}

int
main(void)
{
	UNIT_BEGIN("test_pathsel");
	RUN(test_starts_on_udp);
	RUN(test_no_udp_at_start);
	RUN(test_no_tcp_stays_on_udp);
	RUN(test_udp_goes_silent_and_returns);
	RUN(test_tcp_down_sends_both);
	RUN(test_no_udp_address);
	RUN(test_one_way_loss_moves_to_tcp);
	RUN(test_idle_heartbeats_stay_on_udp);
	RUN(test_answered_typing_stays_on_udp);
	RUN(test_talking_udp_brings_it_back);
	RUN(test_freeze_is_not_silence);
	RUN(test_network_change);
	UNIT_END();
}

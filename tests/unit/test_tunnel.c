/* SPDX-License-Identifier: MIT */
/* The tunnel's pure pieces (src/link/tunnel.c): liveness decisions, backoff, ADDR:PORT. */
#include "tests/unit/unit.h"

#include "src/link/tunnel.h"

static void
test_busy_link_alive(void)
{
	struct tunnel_live l;
	char why[128];
	int ping, pings = 0;

	tunnel_live_reset(&l, 0);
	/* Data both ways every 500 ms for a minute: never dead, PINGs only for the RTT. */
	for (int64_t t = 0; t <= 60000; t += 500) {
		tunnel_live_tx(&l, t);
		tunnel_live_rx(&l, t + 50);
		if (t % 1000 == 0) {
			CHECK_INT(tunnel_live_tick(&l, t + 100, &ping, why, sizeof why), 0);
			pings += ping;
		}
	}
	CHECK(pings <= 60000 / TUNNEL_PING_EVERY_MS + 1);
}

static void
test_one_sided_silence(void)
{
	struct tunnel_live l;
	char why[128] = "";
	int ping, dead = 0;
	int64_t t;

	tunnel_live_reset(&l, 0);
	tunnel_live_rx(&l, 1000);
	/* The client sends every 3 s from t=2000, nothing comes back. */
	for (t = 2000; t <= 20000 && !dead; t += 1000) {
		if (t % 3000 == 2000)
			tunnel_live_tx(&l, t);
		dead = tunnel_live_tick(&l, t, &ping, why, sizeof why);
	}
	CHECK(dead);
	/* Declared within about SILENCE after the first unanswered datagram. */
	CHECK(t - 1000 >= 2000 + TUNNEL_SILENCE_MS - 2000);
	CHECK(t - 1000 <= 2000 + TUNNEL_SILENCE_MS);
	/* Whichever rule fires first (the PINGs sent meanwhile went unanswered too). */
	CHECK(strstr(why, "no reply for") != NULL || strstr(why, "pings unanswered") != NULL);
}

static void
test_silence_rule_alone(void)
{
	struct tunnel_live l;
	char why[128] = "";
	int ping;

	/* Replies stopped long ago (idle), PINGs were answered until then; now the client
	 * sends and nothing comes back: 7 s after its first datagram, dead. */
	tunnel_live_reset(&l, 0);
	tunnel_live_tx(&l, 100);
	CHECK_INT(tunnel_live_tick(&l, 100 + TUNNEL_SILENCE_MS - 1, &ping, why, sizeof why), 0);
	l.pings_out = 0; /* as if the PINGs were not due yet */
	CHECK_INT(tunnel_live_tick(&l, 100 + TUNNEL_SILENCE_MS, &ping, why, sizeof why), 1);
	CHECK_HAS(why, "no reply for");
	/* A reply in time clears it. */
	tunnel_live_reset(&l, 0);
	tunnel_live_tx(&l, 100);
	tunnel_live_rx(&l, 6000);
	CHECK_INT(tunnel_live_tick(&l, 100 + TUNNEL_SILENCE_MS, &ping, why, sizeof why), 0);
}

static void
test_idle_pings(void)
{
	struct tunnel_live l;
	char why[128] = "";
	int ping, dead = 0, pings = 0;
	int64_t t;

	/* Nothing sent at all: PINGs find the dead link. */
	tunnel_live_reset(&l, 0);
	for (t = 1000; t <= 30000 && !dead; t += 1000) {
		dead = tunnel_live_tick(&l, t, &ping, why, sizeof why);
		pings += ping;
	}
	CHECK(dead);
	CHECK(t <= 10000);
	CHECK(pings >= TUNNEL_PINGS_LOST);
	CHECK_HAS(why, "pings unanswered");

	/* A PONG (any frame) each time keeps it alive, with one PING per idle interval. */
	tunnel_live_reset(&l, 0);
	pings = 0;
	for (t = 1000; t <= 60000; t += 1000) {
		CHECK_INT(tunnel_live_tick(&l, t, &ping, why, sizeof why), 0);
		if (ping) {
			pings++;
			tunnel_live_rx(&l, t + 20);
		}
	}
	/* At most one PING per second, i.e. the idle link stays cheap. */
	CHECK(pings <= 60);
	CHECK(pings >= 60000 / TUNNEL_PING_EVERY_MS);
}

/* A slow PONG (a PING that waited out a stall) is checked again at the next tick; a fast
 * one waits the usual 10 s.  Neither counts as an unanswered PING. */
static void
test_slow_pong_rechecked(void)
{
	struct tunnel_live l;
	char why[128];
	int ping;

	tunnel_live_reset(&l, 0);
	CHECK_INT(tunnel_live_tick(&l, 1000, &ping, why, sizeof why), 0);
	CHECK_INT(ping, 1);
	tunnel_live_rx(&l, 1020);
	tunnel_live_pong(&l, 20);
	tunnel_live_tx(&l, 1500);
	tunnel_live_rx(&l, 1600);
	CHECK_INT(tunnel_live_tick(&l, 2000, &ping, why, sizeof why), 0);
	CHECK_INT(ping, 0);
	tunnel_live_rx(&l, 2100);
	tunnel_live_pong(&l, TUNNEL_RTT_RECHECK_MS + 1);
	CHECK_INT(tunnel_live_tick(&l, 3000, &ping, why, sizeof why), 0);
	CHECK_INT(ping, 1);
	CHECK_INT(l.pings_out, 0);
	tunnel_live_rx(&l, 3030);
	tunnel_live_pong(&l, 30);
	CHECK_INT(tunnel_live_tick(&l, 4000, &ping, why, sizeof why), 0);
	CHECK_INT(ping, 0);
}

static void
test_backoff(void)
{
	CHECK(tunnel_backoff_ms(0, 0.0) >= 100);
	CHECK(tunnel_backoff_ms(0, 0.999) <= 250);
	for (int n = 0; n < 50; n++) {
		CHECK(tunnel_backoff_ms(n, 0.999) <= 2000);
		CHECK(tunnel_backoff_ms(n, 0.0) >= 100);
		if (n > 0)
			CHECK(tunnel_backoff_ms(n, 0.5) >= tunnel_backoff_ms(n - 1, 0.5));
	}
	CHECK(tunnel_backoff_ms(10, 0.5) >= 1000);
	/* Jitter really varies the delay. */
	CHECK(tunnel_backoff_ms(3, 0.0) != tunnel_backoff_ms(3, 0.9));
}

static void
test_addrport(void)
{
	char a[64], err[256];
	int port = -1;

	CHECK_INT(tunnel_parse_addrport("127.0.0.1:53", 0, a, sizeof a, &port, err, sizeof err), 0);
	CHECK_STR(a, "127.0.0.1");
	CHECK_INT(port, 53);
	CHECK_INT(tunnel_parse_addrport("[::1]:5353", 0, a, sizeof a, &port, err, sizeof err), 0);
	CHECK_STR(a, "::1");
	CHECK_INT(port, 5353);
	CHECK_INT(tunnel_parse_addrport("0.0.0.0:0", 1, a, sizeof a, &port, err, sizeof err), 0);
	CHECK_INT(port, 0);
	CHECK_INT(tunnel_parse_addrport("0.0.0.0:0", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "from 1 to 65535");
	CHECK_INT(tunnel_parse_addrport("localhost:53", 0, a, sizeof a, &port, err, sizeof err),
	    -1);
	CHECK_HAS(err, "not a numeric IPv4");
	CHECK_INT(tunnel_parse_addrport("::1:53", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "brackets");
	CHECK_INT(tunnel_parse_addrport("10.0.0.1", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "no port");
	CHECK_INT(tunnel_parse_addrport("10.0.0.1:", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "no port after");
	CHECK_INT(tunnel_parse_addrport(":53", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "no address");
	CHECK_INT(tunnel_parse_addrport("1.2.3.4:65536", 0, a, sizeof a, &port, err, sizeof err),
	    -1);
	CHECK_INT(tunnel_parse_addrport("1.2.3.4:99999999999999999999", 0, a, sizeof a, &port, err,
	              sizeof err),
	    -1);
	CHECK_INT(tunnel_parse_addrport("1.2.3.4:5x", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_INT(tunnel_parse_addrport("1.2.3.4:-5", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_INT(tunnel_parse_addrport("[1.2.3.4]:5", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_HAS(err, "IPv6");
	CHECK_INT(tunnel_parse_addrport("", 0, a, sizeof a, &port, err, sizeof err), -1);
	CHECK_INT(tunnel_parse_addrport("[::1]", 0, a, sizeof a, &port, err, sizeof err), -1);
}

int
main(void)
{
	UNIT_BEGIN("test_tunnel");
	RUN(test_busy_link_alive);
	RUN(test_one_sided_silence);
	RUN(test_silence_rule_alone);
	RUN(test_idle_pings);
	RUN(test_slow_pong_rechecked);
	RUN(test_backoff);
	RUN(test_addrport);
	UNIT_END();
}

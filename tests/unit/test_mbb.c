/* SPDX-License-Identifier: MIT */
/* src/link/mbb.c: the make-before-break decisions on given clock values. */
#include "src/link/mbb.h"
#include "src/link/tunnel.h"
#include "tests/unit/unit.h"

/* Starts attempts while mbb_next says so; returns how many. */
static int
starts(struct mbb *m, int64_t now, int64_t *wake)
{
	int n = 0;

	while (mbb_next(m, now, wake))
		n++;
	return n;
}

static void
test_steady(void)
{
	struct mbb m;
	int64_t wake = -1;

	mbb_init(&m, 1);
	CHECK(!mbb_probing(&m));
	CHECK_INT(starts(&m, 1000, &wake), 0);
	CHECK_INT(wake, 0);
	/* an answer with nothing suspect changes nothing */
	CHECK_INT(mbb_link_answered(&m, 1000), 0);
	CHECK(!mbb_probing(&m));
}

/* A network change: one attempt at once, another every 500 ms while they wait, the
 * first to come up wins and the rest are dropped. */
static void
test_overlap_and_win(void)
{
	struct mbb m;
	int64_t wake;

	mbb_init(&m, 1);
	CHECK_INT(mbb_suspect(&m, 10000, MBB_WHY_NETWORK), 1);
	CHECK(mbb_probing(&m));
	/* a second alarm while probing starts nothing new of its own */
	CHECK_INT(mbb_suspect(&m, 10000, MBB_WHY_NETWORK), 0);
	CHECK_INT(starts(&m, 10000, &wake), 1);
	CHECK_INT(wake, 10500);
	CHECK_INT(starts(&m, 10499, &wake), 0);
	CHECK_INT(starts(&m, 10500, &wake), 1);
	CHECK_INT(starts(&m, 11000, &wake), 1);
	CHECK_INT(m.running, 3);
	/* never more than MBB_RUNNING_MAX at once */
	for (int64_t t = 11500; t < 20000; t += 500)
		starts(&m, t, &wake);
	CHECK_INT(m.running, MBB_RUNNING_MAX);
	CHECK_INT(starts(&m, 20000, &wake), 0);
	mbb_won(&m, 20100);
	CHECK(!mbb_probing(&m));
	CHECK_INT(m.running, 0);
	CHECK_INT(starts(&m, 30000, &wake), 0);
	CHECK_INT(wake, 0);
}

/* The old link answers the alarm's PING first: a false alarm; the attempts go, and
 * silence alone is not suspect for a while (a network change still is). */
static void
test_false_alarm(void)
{
	struct mbb m;
	int64_t wake;

	mbb_init(&m, 1);
	CHECK_INT(mbb_suspect(&m, 5000, MBB_WHY_SILENCE), 1);
	CHECK_INT(starts(&m, 5000, &wake), 1);
	CHECK_INT(mbb_link_answered(&m, 5040), 1);
	CHECK(!mbb_probing(&m));
	CHECK_INT(starts(&m, 6000, &wake), 0);
	CHECK_INT(mbb_suspect(&m, 6000, MBB_WHY_SILENCE), 0);
	CHECK_INT(mbb_suspect(&m, 5040 + MBB_QUIET_MS - 1, MBB_WHY_SILENCE), 0);
	CHECK_INT(mbb_suspect(&m, 7000, MBB_WHY_NETWORK), 1);
	CHECK_INT(mbb_link_answered(&m, 7010), 0); /* nothing had started yet */
	CHECK_INT(mbb_suspect(&m, 7010 + MBB_QUIET_MS, MBB_WHY_SILENCE), 1);
}

/* No link: reconnecting.  Attempts that fail at once back off (with jitter), by at most
 * MBB_OVERLAP_MS (jittered) in the outage's first minute and capped near 2 s after it;
 * attempts that hang overlap every MBB_OUTAGE_MS in the first minute. */
/* An outage older than MBB_OUTAGE_FOR_MS: refused attempts back off as ever, up to
 * near 2 s. */
static void
test_reconnect_backoff_later(void)
{
	struct mbb m;
	int64_t wake, now = 1000, pause = 0;

	mbb_init(&m, 1);
	mbb_link_lost(&m, now);
	now += MBB_OUTAGE_FOR_MS;
	for (int i = 0; i < 6; i++) {
		CHECK_INT(starts(&m, now, &wake), 1);
		mbb_attempt_failed(&m, now, now, 0.5, 0);
		CHECK_INT(starts(&m, now, &wake), 0);
		pause = wake - now;
		CHECK_INT(pause, tunnel_backoff_ms(i, 0.5));
		CHECK(pause <= 2000);
		now = wake;
	}
	/* the last pause is the backoff's cap, well over the first minute's */
	CHECK(pause > MBB_OVERLAP_MS);
}

static void
test_reconnect_backoff(void)
{
	struct mbb m;
	int64_t wake, now = 1000;

	mbb_init(&m, 1);
	mbb_link_lost(&m, now);
	CHECK(mbb_probing(&m));
	CHECK_INT(starts(&m, now, &wake), 1);
	/* refused at once, five times: the pauses grow, and in the first minute stay at
	 * MBB_OVERLAP_MS x 0.75 (jitter 0.5) at most */
	for (int i = 0; i < 5; i++) {
		int want = tunnel_backoff_ms(i, 0.5);

		if (want > MBB_OVERLAP_MS * 3 / 4)
			want = MBB_OVERLAP_MS * 3 / 4;
		mbb_attempt_failed(&m, now, now, 0.5, 0);
		CHECK_INT(starts(&m, now, &wake), 0);
		CHECK_INT(wake - now, want);
		now = wake;
		CHECK_INT(starts(&m, now, &wake), 1);
	}
	/* this one hangs: the next overlaps it MBB_OUTAGE_MS later */
	CHECK_INT(starts(&m, now + MBB_OUTAGE_MS - 1, &wake), 0);
	CHECK_INT(wake, now + MBB_OUTAGE_MS);
	CHECK_INT(starts(&m, now + 500, &wake), 1);
	CHECK_INT(m.running, 2);
	/* a network change while waiting on a backoff: go now */
	mbb_attempt_failed(&m, now + 600, now + 500, 0.5, 0);
	mbb_attempt_failed(&m, now + 600, now + 500, 0.5, 0);
	CHECK_INT(m.running, 0);
	CHECK_INT(starts(&m, now + 601, &wake), 0);
	CHECK_INT(mbb_suspect(&m, now + 601, MBB_WHY_NETWORK), 0);
	CHECK_INT(starts(&m, now + 601, &wake), 1);
	/* ... and silence does not (there is no link to be silent) */
	mbb_attempt_failed(&m, now + 700, now + 601, 0.5, 0);
	CHECK_INT(mbb_suspect(&m, now + 701, MBB_WHY_SILENCE), 0);
	CHECK_INT(starts(&m, now + 701, &wake), 0);
	/* up again */
	mbb_won(&m, now + 3000);
	CHECK(!mbb_probing(&m));
	CHECK_INT(m.failures, 0);
}

/* A blackhole: every attempt hangs until its timeout.  The next ones keep coming every
 * 250 ms for the first minute (as many as MBB_RUNNING_MAX in flight), so the first SYN
 * after the end of the outage is never more than ~250 ms away; then every 500 ms. */
static void
test_hung_attempts(void)
{
	struct mbb m;
	int64_t wake, t, start[400];
	int n = 0, done = 0, first_slow = -1;

	mbb_init(&m, 1);
	mbb_link_lost(&m, 1000);
	for (t = 1000; t <= 90000; t += 50) {
		/* each attempt times out 4 s after it started */
		while (done < n && t - start[done] >= 4000)
			mbb_attempt_failed(&m, t, start[done++], 0.5, 0);
		/* the old link, kept after the verdict, is closed later: no new outage */
		if (t == 8000)
			mbb_link_lost(&m, t);
		while (n < 400 && mbb_next(&m, t, &wake))
			start[n++] = t;
		CHECK(m.running <= MBB_RUNNING_MAX);
	}
	for (int i = 1; i < n; i++) {
		if (start[i] < 1000 + MBB_OUTAGE_FOR_MS)
			CHECK_INT(start[i] - start[i - 1], MBB_OUTAGE_MS);
		else {
			if (first_slow == -1)
				first_slow = i;
			CHECK_INT(start[i] - start[i - 1], MBB_OVERLAP_MS);
		}
	}
	CHECK(first_slow > 200);
	CHECK(n > first_slow + 50);
	CHECK_INT(m.failures, 0);
}

/* The dead verdict: due MBB_VERDICT_MS after an alarm while the old link is there;
 * none without an alarm, after an answer, or once the link is gone. */
static void
test_verdict(void)
{
	struct mbb m;
	int64_t wake;

	mbb_init(&m, 1);
	CHECK_INT(mbb_verdict_at(&m), 0);
	CHECK_INT(mbb_suspect(&m, 5000, MBB_WHY_SILENCE), 1);
	CHECK_INT(mbb_verdict_at(&m), 5000 + MBB_VERDICT_MS);
	CHECK(1500 + MBB_VERDICT_MS <= 3000); /* the issue: dead within 3 s of silence */
	CHECK_INT(starts(&m, 5000, &wake), 1);
	CHECK_INT(mbb_link_answered(&m, 5100), 1);
	CHECK_INT(mbb_verdict_at(&m), 0);
	/* a network change's alarm, then the verdict: the link counts as lost, the
	 * attempts keep coming at the outage's pace */
	CHECK_INT(mbb_suspect(&m, 20000, MBB_WHY_NETWORK), 1);
	CHECK_INT(starts(&m, 20000, &wake), 1);
	CHECK_INT(wake, 20000 + MBB_OVERLAP_MS);
	mbb_link_lost(&m, 20000 + MBB_VERDICT_MS);
	CHECK_INT(mbb_verdict_at(&m), 0);
	CHECK_INT(starts(&m, 20000 + MBB_VERDICT_MS, &wake), 1);
	CHECK_INT(starts(&m, 20000 + MBB_VERDICT_MS + MBB_OUTAGE_MS - 1, &wake), 0);
	CHECK_INT(starts(&m, 20000 + MBB_VERDICT_MS + MBB_OUTAGE_MS, &wake), 1);
	/* the old link answers after all (mbb_won): the next outage starts afresh */
	mbb_won(&m, 30000);
	CHECK_INT(m.lost_at, 0);
	mbb_link_lost(&m, 40000);
	CHECK_INT(m.lost_at, 40000);
}

/* A refused login holds every attempt for the given time; a kick (moshman reconnect)
 * tries at once. */
static void
test_hold_and_kick(void)
{
	struct mbb m;
	int64_t wake;

	mbb_init(&m, 0);
	mbb_link_lost(&m, 1000);
	CHECK_INT(starts(&m, 1000, &wake), 1);
	mbb_attempt_failed(&m, 1100, 1000, 0.0, TUNNEL_AUTH_RETRY_S * 1000);
	CHECK_INT(starts(&m, 1100, &wake), 0);
	CHECK_INT(wake, 1100 + TUNNEL_AUTH_RETRY_S * 1000);
	CHECK_INT(starts(&m, 60000, &wake), 0);
	mbb_kick(&m, 60000);
	CHECK_INT(starts(&m, 60000, &wake), 1);
	/* a kick while nothing is suspect does nothing */
	mbb_won(&m, 61000);
	mbb_kick(&m, 62000);
	CHECK_INT(starts(&m, 62000, &wake), 0);
}

/* The old link dies while probing: the attempts already running go on, unchanged. */
static void
test_dies_while_probing(void)
{
	struct mbb m;
	int64_t wake;

	mbb_init(&m, 1);
	CHECK_INT(mbb_suspect(&m, 1000, MBB_WHY_NETWORK), 1);
	CHECK_INT(starts(&m, 1000, &wake), 1);
	CHECK_INT(starts(&m, 1500, &wake), 1);
	mbb_link_lost(&m, 2000);
	CHECK(mbb_probing(&m));
	CHECK_INT(m.running, 2);
	CHECK_INT(m.suspect_at, 1000);
	/* no link now: its PONG cannot end the probing */
	CHECK_INT(mbb_link_answered(&m, 2100), 0);
	CHECK(mbb_probing(&m));
	CHECK_INT(starts(&m, 2000, &wake), 1);
}

/* A second network change while probing (an uplink switch: the route goes, then comes
 * back on another link) starts an attempt now, whatever the backoff of attempts that
 * failed fast on the way says. */
static void
test_network_again(void)
{
	struct mbb m;
	int64_t wake = 0;

	mbb_init(&m, 1);
	CHECK_INT(mbb_suspect(&m, 1000, MBB_WHY_NETWORK), 1);
	CHECK_INT(starts(&m, 1000, &wake), 1);
	/* no route yet: it fails at once, and again, and backs off */
	mbb_attempt_failed(&m, 1010, 1000, 0.5, 0);
	CHECK_INT(starts(&m, 1010, &wake), 0);
	CHECK(wake > 1010);
	CHECK_INT(mbb_suspect(&m, 1020, MBB_WHY_NETWORK), 0);
	CHECK_INT(starts(&m, 1020, &wake), 1);
	/* silence alone does not cut a backoff short */
	mbb_attempt_failed(&m, 1030, 1020, 0.5, 0);
	CHECK_INT(mbb_suspect(&m, 1040, MBB_WHY_SILENCE), 0);
	CHECK_INT(starts(&m, 1040, &wake), 0);
	CHECK(mbb_probing(&m));
}

/* The old link answers a network change's alarm (an uplink switch: the old link still
 * works for a moment, then dies): the attempt under way is kept and takes over when it
 * comes up; no new ones start; silence right after is suspect again, not muted. */
static void
test_network_false_alarm(void)
{
	struct mbb m;
	int64_t wake = 0;

	mbb_init(&m, 1);
	CHECK_INT(mbb_suspect(&m, 1000, MBB_WHY_NETWORK), 1);
	CHECK_INT(starts(&m, 1000, &wake), 1);
	CHECK_INT(mbb_link_answered(&m, 1001), 0);
	CHECK(!mbb_probing(&m));
	CHECK_INT(m.running, 1);
	CHECK_INT(starts(&m, 1600, &wake), 0);
	CHECK_INT(wake, 0);
	CHECK_INT(mbb_suspect(&m, 2600, MBB_WHY_SILENCE), 1);
	CHECK_INT(starts(&m, 2600, &wake), 1);
	CHECK_INT(m.running, 2);
	/* the kept attempt comes up first: it wins like any other */
	mbb_won(&m, 2650);
	CHECK_INT(m.running, 0);
	CHECK(!mbb_probing(&m));
	/* one that fails after the answer just goes */
	CHECK_INT(mbb_suspect(&m, 5000, MBB_WHY_NETWORK), 1);
	CHECK_INT(starts(&m, 5000, &wake), 1);
	CHECK_INT(mbb_link_answered(&m, 5001), 0);
	mbb_attempt_failed(&m, 5010, 5000, 0.5, 0);
	CHECK_INT(m.running, 0);
	CHECK_INT(starts(&m, 5020, &wake), 0);
}

/* The verdict asks the kernel: TCP without ACKs (a blackhole, an address gone) is dead;
 * TCP acknowledged while the far end says nothing (a stopped relay or sshd) is a stall,
 * not dead; a socket that is not TCP (a ProxyCommand's pipe) cannot tell: dead. */
static void
test_verdict_tcp(void)
{
	struct mbb_tcp k = { 0 };

	CHECK_INT(mbb_verdict(&k), 1);
	k.known = 1;
	CHECK_INT(mbb_verdict(&k), 0); /* all acknowledged */
	k.unacked = 2;
	k.last_ack_ms = 20;
	CHECK_INT(mbb_verdict(&k), 0); /* data in flight, ACKs coming */
	k.retransmits = 1;
	CHECK_INT(mbb_verdict(&k), 1); /* the oldest had to go again */
	k.retransmits = 0;
	k.last_ack_ms = MBB_VERDICT_MS;
	CHECK_INT(mbb_verdict(&k), 1); /* no ACK since the alarm's PING */
	k.unacked = 0;
	k.last_ack_ms = 60000;
	CHECK_INT(mbb_verdict(&k), 0); /* idle and acknowledged long ago */
}

int
main(void)
{
	UNIT_BEGIN("test_mbb");
	RUN(test_steady);
	RUN(test_overlap_and_win);
	RUN(test_false_alarm);
	RUN(test_reconnect_backoff);
	RUN(test_reconnect_backoff_later);
	RUN(test_hung_attempts);
	RUN(test_verdict);
	RUN(test_verdict_tcp);
	RUN(test_hold_and_kick);
	RUN(test_dies_while_probing);
	RUN(test_network_again);
	RUN(test_network_false_alarm);
	UNIT_END();
}

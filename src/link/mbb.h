/* SPDX-License-Identifier: MIT */
/*
 * Make-before-break for the tcp path: when the link is suspect (the network changed, the
 * machine woke, or nothing came back for MBB_SILENCE_MS while mosh-client sends), new
 * ssh connections + relays are started beside the old link, which stays; the first one
 * whose relay answers takes over and the old link is closed.  If the old link answers a
 * PING sent after the alarm first, it was a false alarm: the attempts are dropped (the
 * cost is one connection, not an outage).  Attempts overlap, happy-eyeballs style: a new
 * one every MBB_OVERLAP_MS while earlier ones still wait (on a SYN lost to a network that
 * was changing, on a proxy), the first to complete wins.  With no link at all (it died)
 * the same machine reconnects: attempts overlap while they hang (every MBB_OUTAGE_MS for
 * the first MBB_OUTAGE_FOR_MS: each costs a SYN, and the first one after the path comes
 * back wins), and back off with jitter while they fail fast.
 *
 * The dead verdict: an alarm whose PING the old link has not answered within
 * MBB_VERDICT_MS (mbb_verdict_at): with the silence alarm at 1.5 s, ~3 s after mosh-client
 * was first left unanswered.  The old link is not closed by it: it stays beside the
 * attempts, and if it answers first it carries the session again (a false verdict costs
 * one connection, not an outage).
 *
 * Pure: the caller feeds times (ms on a monotonic clock, > 0) and outcomes and does what
 * mbb_next() says.
 */
#ifndef MOSHMAN_MBB_H
#define MOSHMAN_MBB_H

#include <stdint.h>

#define MBB_SILENCE_MS 1500     /* mosh caps its retransmission timer at 1 s */
#define MBB_OVERLAP_MS 500      /* a new attempt this often while earlier ones wait */
#define MBB_OUTAGE_MS 250       /* ... and this often once the link is dead, */
#define MBB_OUTAGE_FOR_MS 60000 /* for the first minute of the outage */
#define MBB_RUNNING_MAX 16      /* attempts in flight at most (4 s each, one per 250 ms) */
#define MBB_VERDICT_MS 1400     /* an alarm's PING unanswered this long: the link is dead */
#define MBB_QUIET_MS 10000      /* after a false alarm, silence alone is not suspect */
#define MBB_HUNG_MS 1000        /* an attempt that failed later than this had hung */

struct mbb {
	int64_t suspect_at;     /* probing since (ms), 0 when not */
	int have_link;          /* a link carries the session (the old one while probing) */
	int running;            /* attempts in flight */
	int64_t last_start;     /* when the newest attempt started */
	int64_t retry_at;       /* with nothing running: no new attempt before this */
	int failures;           /* attempts failed since the last success (backoff) */
	int64_t false_alarm_at; /* the old link answered a silence alarm's PING then */
	int suspect_why;        /* enum mbb_why of the alarm under way */
	int64_t lost_at;        /* the link died (ms), 0 while there is one */
};

enum mbb_why {
	MBB_WHY_SILENCE,
	MBB_WHY_NETWORK
};

void mbb_init(struct mbb *, int have_link);
/* Something says the link may be gone.  1 when probing starts now (send a PING on the
 * old link: its PONG means false alarm), 0 when already probing, when there is no link
 * (then a network change only makes a waiting retry go now) or when silence is ignored
 * for a while after a false alarm. */
int mbb_suspect(struct mbb *, int64_t now, enum mbb_why);
/* The old link answered the alarm's PING: probing ends (no new attempts).  After a
 * silence alarm it was a false alarm: 1, drop the attempts, and silence alone is ignored
 * for MBB_QUIET_MS.  After a network change's alarm: 0, the attempts under way go on and
 * the first to come up still takes over; nothing is muted.  The old link is bound to the
 * source address that changed and answered from the network that is going away (an
 * uplink switch: it answered 1 ms after the route moved, then died). */
int mbb_link_answered(struct mbb *, int64_t now);
/* The link died (or was dropped on request): keep trying until one comes up. */
void mbb_link_lost(struct mbb *, int64_t now);
/* An attempt that started at started failed.  One that failed fast (refused, no route)
 * backs off, r in [0, 1) for the jitter; one that hung until its timeout (a SYN lost in
 * a blackhole) does not slow the next ones down.  hold_ms > 0 overrides both (a refused
 * login is not retried every few seconds). */
void mbb_attempt_failed(struct mbb *, int64_t now, int64_t started, double r, int hold_ms);
/* An attempt's relay answered: it is the link now; drop the other attempts. */
void mbb_won(struct mbb *, int64_t now);
/* Try now, whatever the backoff says (a reconnect request, a network change). */
void mbb_kick(struct mbb *, int64_t now);
/* 1: start one attempt now (counted as running; call again, there may be more).  0:
 * nothing now; *wake is when to call again (ms, 0 = only on the next event). */
int mbb_next(struct mbb *, int64_t now, int64_t *wake);
/* Probing (attempts wanted or in flight)? */
int mbb_probing(const struct mbb *);
/* When the alarm under way becomes a dead verdict unless the old link answers first
 * (ms); 0 when there is no alarm or no link to judge. */
int64_t mbb_verdict_at(const struct mbb *);

/* What the kernel says of the old link's TCP connection (TCP_INFO) when the verdict is
 * due. */
struct mbb_tcp {
	int known;            /* a TCP socket whose TCP_INFO could be read */
	unsigned unacked;     /* segments sent, not acknowledged */
	unsigned retransmits; /* retransmissions (or backoffs) of the oldest of them */
	unsigned last_ack_ms; /* since the last ACK arrived */
};
#define MBB_VERDICT_AGAIN_MS 500 /* not dead yet: judged again this much later */
/* The verdict once due: 1 dead (TCP gets no ACKs: the path is gone; or nothing can tell),
 * 0 not dead (TCP is acknowledged, only the far end does not answer: a stopped relay or
 * sshd, which a stall of a few seconds often is; the session shows degraded, the
 * attempts go on, and the verdict is asked again in MBB_VERDICT_AGAIN_MS).  Through a
 * SOCKS or HTTP proxy the socket is the proxy's: a path lost beyond it looks like a stall
 * here, and the liveness tick's slower rule (TUNNEL_SILENCE_MS) ends the link. */
int mbb_verdict(const struct mbb_tcp *);

#endif

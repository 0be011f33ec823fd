/* SPDX-License-Identifier: MIT */
/*
 * Is a live link in trouble?  A pure verdict, taken about once a second by whoever owns
 * the link (the session supervisor, `moshman tunnel`), from timestamps on one clock:
 *
 * - One-sided silence: the sending side (mosh-client) sent after the last reply and
 *   recently, yet nothing came back for more than HEALTH_SILENCE_MS.  mosh acks at least
 *   every 3 s, so 3.5 s without a reply while the client talks is already unusual; the
 *   tunnel calls the link dead after about 7 s of it (TUNNEL_SILENCE_MS) and reconnects.
 *   A session where neither side sends (nothing typed, both quiet) is not in trouble.
 * - A round-trip time above HEALTH_RTT_MS: mosh caps its retransmission timeout at 1 s
 *   (MAX_RTO in mosh's network.h), so beyond that every datagram is resent before its
 *   ack can arrive, and typing echoes a second late.  It recovers below HEALTH_RTT_OK_MS
 *   so a link hovering at the threshold does not flap.
 *
 * Degraded is a shade of `up`: the link still counts as alive.
 */
#ifndef MOSHMAN_HEALTH_H
#define MOSHMAN_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define HEALTH_SILENCE_MS 3500   /* client sends, nothing back for longer: degraded */
#define HEALTH_TX_RECENT_MS 6000 /* "the client sends": a datagram within this (2 acks) */
#define HEALTH_RTT_MS 1000       /* a round trip above this: degraded */
#define HEALTH_RTT_OK_MS 800     /* and below this again: up */

struct health_in {
	int64_t now;
	int64_t since;   /* the link came up (or was rebuilt) at; silence counts from here */
	int64_t last_tx; /* last datagram from the client side, 0 never */
	int64_t last_rx; /* last sign of life from the far side (datagram, PONG), 0 never */
	int64_t rtt_ms;  /* the latest measured round trip, -1 unknown */
	int degraded;    /* the verdict of the previous call */
};

/* 1 when the link is degraded (why in reason), 0 when it is fine (reason says why it is
 * fine again after a degraded verdict, else ""). */
int health_judge(const struct health_in *, char *reason, size_t reasonsz);

#endif

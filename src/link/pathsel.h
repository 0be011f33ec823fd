/* SPDX-License-Identifier: MIT */
/*
 * The adaptive path policy of transport auto, as a pure state machine: events with
 * timestamps go in (a client datagram sent, a server datagram back over UDP or over the
 * tunnel, the tunnel up or down), decisions come out (where to send the next datagram,
 * and, from the once-a-second tick, a path switch with its reason).  No I/O, no clock:
 * the supervisor feeds it; tests/unit/test_pathsel.c drives it through every case.
 *
 * - Start on UDP.  No server datagram over UDP within PATHSEL_START_MS of the client's
 *   first datagram, and the tunnel is up: switch to TCP.
 * - On UDP: the client keeps sending but nothing comes back over UDP for
 *   PATHSEL_SILENCE_MS (mosh acks every 3 s): switch to TCP, if the tunnel is up.
 * - On UDP: the server does not hear the client.  mosh-server answers client data within
 *   ~100 ms with a timestamp reply (src/link/moshpkt.h: "heard"), and mosh-client resends
 *   unanswered data at least every second (MAX_RTO), so a train of client datagrams no
 *   more than PATHSEL_TRAIN_GAP_MS apart, unanswered for PATHSEL_UNHEARD_MS, means the
 *   client's datagrams are lost, even while the server's own heartbeats still arrive
 *   (UDP dropped one way).  Idle heartbeats (3 s apart) form no train.  Without the
 *   session key every server datagram counts as heard.
 * - On TCP: every PATHSEL_PROBE_EVERY_MS, for PATHSEL_PROBE_MS, client datagrams also go
 *   over UDP (mosh ignores duplicates, and mosh-server answers the first copy's source);
 *   a server datagram over UDP means UDP works again: switch back.  While the tunnel is
 *   down, datagrams go both ways (nothing to lose).
 */
#ifndef MOSHMAN_PATHSEL_H
#define MOSHMAN_PATHSEL_H

#include <stddef.h>
#include <stdint.h>

#define PATHSEL_START_MS 2000
#define PATHSEL_SILENCE_MS 5000
#define PATHSEL_PROBE_EVERY_MS 15000
#define PATHSEL_PROBE_MS 3000
#define PATHSEL_TRAIN_GAP_MS 1500
#define PATHSEL_UNHEARD_MS 3000
/* Ticks this far apart: the process was frozen or the machine slept; what was measured
 * before says nothing about the path now (src/link/wake.h), so it is dropped. */
#define PATHSEL_TICK_GAP_MS 2500

enum pathsel_path {
	PATHSEL_UDP,
	PATHSEL_TCP
};

struct pathsel {
	enum pathsel_path path;
	int udp_possible; /* there is a UDP address to try at all */
	int tcp_up;
	int udp_ever;        /* a server datagram ever came over UDP */
	int64_t since;       /* on this path since */
	int64_t udp_rx;      /* last server datagram over UDP, 0 never */
	int64_t udp_rx_seen; /* udp_rx when the path last changed (UDP "answers again") */
	int64_t first_tx;    /* first client datagram since the last UDP reply, 0 none */
	int64_t next_probe;  /* on TCP: when the next UDP probe window opens */
	int64_t last_tx;     /* last client datagram, 0 none */
	int64_t train;       /* start of the current unanswered train, 0 none */
	int64_t last_tick;   /* 0 none yet */
};

void pathsel_init(struct pathsel *, int64_t now, int udp_possible);
void pathsel_client_tx(struct pathsel *, int64_t now);
/* Any server datagram over UDP (mosh-server's, when the key is known). */
void pathsel_udp_rx(struct pathsel *, int64_t now);
/* A server datagram over UDP that answers a client timestamp (implies pathsel_udp_rx). */
void pathsel_udp_heard(struct pathsel *, int64_t now);
void pathsel_tcp_state(struct pathsel *, int up);
/* Should a client datagram sent now go over UDP, over the tunnel? (both may be 1) */
int pathsel_send_udp(const struct pathsel *, int64_t now);
int pathsel_send_tcp(const struct pathsel *, int64_t now);
/* The network changed or the machine woke: silence measured so far is dropped, and on
 * TCP a UDP probe window opens now. */
void pathsel_network_changed(struct pathsel *, int64_t now);
/* About once a second.  1 when the path changed (the new one in ps->path, why in
 * reason, the time spent on the old one in *was_ms), else 0. */
int pathsel_tick(struct pathsel *, int64_t now, char *reason, size_t reasonsz, int64_t *was_ms);
const char *pathsel_name(enum pathsel_path);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The TCP path: mosh's datagrams as frames (src/link/frame.h) on an exec channel of the
 * session's own ssh connection, to a remote relay next to mosh-server.  It implements
 * the local relay's path interface, watches the link (one-sided silence, unanswered
 * PINGs, ssh errors) and rebuilds it on its own: a new ssh connection over the same route
 * with the remembered credentials (sshconn_clone), a new relay for the same UDP port.
 * A link that is only suspect gets the new connection beside it first
 * (make-before-break, src/link/mbb.h): the first to answer carries on.  Attempts overlap
 * (one every 0.5 s while earlier ones hang); fast failures back off with jitter from
 * ~0.2 s up to ~2 s, for as long as the tunnel exists.  docs/protocol.md.
 */
#ifndef MOSHMAN_TUNNEL_H
#define MOSHMAN_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct sshconn;
struct localrelay;
struct tunnel;

enum tunnel_relay {
	TUNNEL_RELAY_ANY,
	TUNNEL_RELAY_NATIVE,
	TUNNEL_RELAY_PERL
};

struct tunnel_config {
	const char *udp_host; /* the relay's UDP peer as seen from the host; NULL 127.0.0.1 */
	int udp_port;
	enum tunnel_relay relay;
	/* Set: datagrams from the relay go here, and the tunnel does not install itself as
	 * the local relay's path (transport auto sends through tunnel_send()). */
	void (*deliver)(const void *, size_t, void *arg);
	void *deliver_arg;
	/* Set: called at the end of the tunnel's own 1 s tick while the link is up, so an
	 * owner with nothing else to time (moshman tunnel's health check) needs no timer. */
	void (*tick)(void *arg);
	void *tick_arg;
	/* Set: the owner carries the session without the tunnel meanwhile (transport auto,
	 * mosh-client already on UDP), so a start that fails (the relay does not answer, the
	 * connection stalls: a roam during the start) is a dead link, rebuilt like any
	 * other, not a failure. */
	int standby;
};

enum tunnel_event {
	TUNNEL_UP,       /* first time up: message "up via tcp (relay native)" */
	TUNNEL_DEAD,     /* the link died, reconnecting: "link dead (...); reconnecting" */
	TUNNEL_UP_AGAIN, /* "up again after 3.2 s (reconnect 1)" */
	TUNNEL_RETRY,    /* a reconnect attempt failed (message says why) */
	TUNNEL_NOTICE,   /* worth recording: from the relay, a refused login, a suspect link */
	TUNNEL_FAILED,   /* gave up for good (no relay, host key changed) */
	TUNNEL_REFUSED,  /* the relay's NOTICE: nothing listens on the UDP port (has
			   * mosh-server ended?); once per silence of the port */
};

typedef void (*tunnel_event_cb)(struct tunnel *, enum tunnel_event, const char *msg, double seconds,
    void *arg);

struct tunnel_info {
	const char *state; /* "connecting", "up", "reconnecting", "failed" */
	const char *relay; /* "native", "perl" or NULL */
	int64_t rtt_ms;    /* -1 unknown */
	int reconnects;
	int64_t last_rx_ms; /* ms epoch of the last frame from the relay, 0 never */
};

/* ssh must be open (authenticated); the tunnel reopens it for reconnects, never
 * interactively.  Nothing happens until tunnel_start(). */
struct tunnel *tunnel_new(struct ev_loop *, struct sshconn *, struct localrelay *,
    const struct tunnel_config *, tunnel_event_cb, void *arg);
/* Starts the relay and installs the tunnel as the local relay's path. */
void tunnel_start(struct tunnel *);
void tunnel_free(struct tunnel *);
void tunnel_get_info(const struct tunnel *, struct tunnel_info *);
/* One datagram into the tunnel; -1 when it is down or full (the datagram is lost). */
int tunnel_send(struct tunnel *, const void *, size_t);
int tunnel_is_up(const struct tunnel *);
/* Rebuild the link now, as if it had died (a forced reconnect: `moshman reconnect`).
 * Returns TUNNEL_RC_NOW when the link is being dropped and rebuilt at once (TUNNEL_DEAD
 * then TUNNEL_UP_AGAIN follow, and reconnects counts it), TUNNEL_RC_MOVED when a
 * reconnect was waiting for its next attempt (moved to now), TUNNEL_RC_UNDERWAY when an
 * attempt is running already, TUNNEL_RC_NOTYET before the tunnel first came up,
 * TUNNEL_RC_RETRY when it had given up (TUNNEL_FAILED: a changed host key, a relay of
 * another protocol) after being up and now tries again (TUNNEL_UP_AGAIN when it gets
 * through, TUNNEL_FAILED again when the cause is still there), and TUNNEL_RC_FAILED
 * when it gave up before it was ever up. */
enum {
	TUNNEL_RC_NOW,
	TUNNEL_RC_MOVED,
	TUNNEL_RC_UNDERWAY,
	TUNNEL_RC_NOTYET,
	TUNNEL_RC_RETRY,
	TUNNEL_RC_FAILED
};
int tunnel_reconnect(struct tunnel *, const char *reason);
/* The link may be gone without a sign on it: the network changed under it (an address
 * or route, src/link/netwatch.h) or the machine woke from a suspend (src/link/wake.h).
 * Called by the link's owner at once.  Make-before-break: a PING on the old link and new
 * connections beside it; whichever answers first carries on (TUNNEL_NOTICE "link
 * suspect", then TUNNEL_UP_AGAIN "moved to a new connection" when a new one won).  While
 * reconnecting, a waiting retry goes now.  Nothing happens before the tunnel first came
 * up.  (1.5 s without a reply while mosh-client retransmits does the same on its own.) */
void tunnel_suspect(struct tunnel *, const char *reason);

/* ---- pure pieces, unit-tested ------------------------------------------------------- */

#define TUNNEL_SILENCE_MS 7000     /* client sends, nothing comes back: dead */
#define TUNNEL_PING_IDLE_MS 2000   /* PING when nothing arrived for this long */
#define TUNNEL_PING_EVERY_MS 10000 /* and at least this often, for the RTT */
#define TUNNEL_PINGS_LOST 2        /* this many unanswered PINGs (and one interval): dead */
#define TUNNEL_HELLO_MS 5000       /* a relay that says nothing for this long is dead */
#define TUNNEL_AUTH_RETRY_S 600    /* after a refused login, the next try (10 min) */
#define TUNNEL_RTT_RECHECK_MS \
	800 /* a slower PONG is checked by another PING at once
				   * (800: below it a degraded session counts as up again) */

/* Liveness bookkeeping: times are ms on one monotonic clock. */
struct tunnel_live {
	int64_t last_rx;   /* any frame from the relay */
	int64_t first_tx;  /* first datagram sent since last_rx, 0 none */
	int64_t last_ping; /* last PING sent, 0 none */
	int pings_out;     /* PINGs sent since last_rx */
};

void tunnel_live_reset(struct tunnel_live *, int64_t now);
void tunnel_live_rx(struct tunnel_live *, int64_t now);
void tunnel_live_tx(struct tunnel_live *, int64_t now);
/* A PONG came back after rtt_ms: a slow one is measured again at the next tick. */
void tunnel_live_pong(struct tunnel_live *, int64_t rtt_ms);
/* Called about once a second.  Returns 1 when the link is dead (why in reason), else 0
 * and *ping = 1 when a PING should go out now (recorded as sent). */
int tunnel_live_tick(struct tunnel_live *, int64_t now, int *ping, char *reason, size_t reasonsz);
/* "ADDR:PORT" for moshman tunnel: a numeric IPv4 address or a bracketed IPv6 one
 * ("[::1]:53"), and a port 1..65535 (0 too when allow_zero).  -1 with a message saying
 * what is wrong. */
int tunnel_parse_addrport(const char *s, int allow_zero, char *addr, size_t addrsz, int *port,
    char *err, size_t errsz);
/* Delay before reconnect attempt n (0-based): fast first, doubling, capped near 2 s,
 * with jitter; r is a random number in [0, 1). */
int tunnel_backoff_ms(int n, double r);

#endif

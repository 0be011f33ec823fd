/* SPDX-License-Identifier: MIT */
/*
 * Network changes and wake-ups, as they happen, for one session's link.
 *
 * The kernel says when an address or a route comes or goes (rtnetlink: the IPv4 and IPv6
 * address and route groups, one socket on the session's loop, no polling).  Not every
 * change matters: a link only cares about the source address the kernel would use to
 * reach its peer now.  A UDP path must make the peer learn a new one at once, and a TCP
 * connection bound to an old one is dead even if nothing says so.  So, for each batch of
 * messages that touches the peer's route (an address of the peer's family, a route whose
 * prefix covers the peer), the watcher asks the kernel for that source again (a connect()
 * of a UDP socket: no packet leaves) and netwatch_judge() compares it with the last one:
 * the same (a route via another gateway, an unrelated address): ignored; none (no route
 * for now): wait; another or back: the owner's callback runs.  Without a peer address
 * (a link through a proxy) every non-local change calls back, once per burst.
 *
 * The same watcher ticks once a second for src/link/wake.h: a suspend or a frozen
 * process also calls the owner back ("woke"), as the peer may have given up on the path.
 *
 * Cost: one netlink socket and one 1 s timer per session.  The parsing and the decisions
 * are pure (tests/unit/test_netwatch.c, tests/fuzz/fuzz_netwatch.c).
 */
#ifndef MOSHMAN_NETWATCH_H
#define MOSHMAN_NETWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "src/link/udpsock.h"

struct ev_loop;
struct netwatch;

/* ---- pure pieces ------------------------------------------------------------------- */

enum netwatch_kind {
	NETWATCH_ADDR,
	NETWATCH_ROUTE,
	NETWATCH_OVERRUN
};

/* One rtnetlink message, as much as the decision needs. */
struct netwatch_msg {
	enum netwatch_kind kind;
	int added;              /* NEW (1) or DEL (0) */
	int family;             /* AF_INET, AF_INET6 */
	int prefixlen;          /* route: dst length (0 = default); address: its prefix */
	unsigned char addr[16]; /* address, or the route's destination (zeros if none) */
	int table;              /* route table */
	int local_scope;        /* address on loopback / host scope, route not unicast */
};

/* Every message in one recv() buffer, up to max; returns how many were stored, -1 if
 * the buffer is malformed (a length that runs past the end).  Messages of other types
 * are skipped.  An NLMSG_ERROR or overrun gives one NETWATCH_OVERRUN. */
int netwatch_parse(const void *buf, size_t len, struct netwatch_msg *out, int max);
/* Can this message change the route to peer? (peer NULL: any non-local change.) */
int netwatch_touches(const struct netwatch_msg *, const struct udpsock_addr *peer);

/* The source address the kernel picks for the peer; have 0 when there is no route. */
struct netwatch_src {
	int have;
	struct udpsock_addr addr; /* port 0 */
};

enum netwatch_verdict {
	NETWATCH_SAME,    /* nothing that matters changed */
	NETWATCH_LOST,    /* no route to the peer now (wait for it to return) */
	NETWATCH_CHANGED, /* a new source address, or a route back: act now */
};
enum netwatch_verdict
netwatch_judge(const struct netwatch_src *was, const struct netwatch_src *now);
/* "10.0.0.1" or "none", for messages. */
void netwatch_src_text(const struct netwatch_src *, char *, size_t);

/* ---- the watcher ------------------------------------------------------------------- */

/* Without a peer (a link through a proxy, whose address is not known here), every
 * non-local address or route change counts, once per burst of messages that settles
 * for this long. */
#define NETWATCH_SETTLE_MS 200

/* why: "network changed: source address 10.1.2.1 -> 10.1.2.10", "woke from a suspend of
 * 30.0 s". */
typedef void (*netwatch_cb)(const char *why, void *arg);

/* Watches the route to peer (a copy is kept; NULL: any change).  NULL with a message
 * when no netlink socket can be had (then the link still works; it only learns of
 * changes by silence). */
struct netwatch *netwatch_new(struct ev_loop *, const struct udpsock_addr *peer, netwatch_cb,
    void *arg, char *err, size_t errlen);
void netwatch_free(struct netwatch *);
/* The source address the kernel would use for peer now. */
void netwatch_source(const struct udpsock_addr *peer, struct netwatch_src *out);

#endif

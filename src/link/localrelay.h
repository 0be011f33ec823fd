/* SPDX-License-Identifier: MIT */
/*
 * The local relay: the UDP endpoint mosh-client talks to (127.0.0.1, ephemeral port).
 *
 * mosh-client never sees the server's address.  Its datagrams go to a "path" behind a
 * small interface (UDP to the server or to a tunnel command's local port, the tcp
 * tunnel through ssh, or auto's choice between them), and whatever the path brings back
 * goes to the newest source port the client used, since mosh-client hops to a new
 * socket after 10 s without a round trip.  Only loopback senders are accepted.
 */
#ifndef MOSHMAN_LOCALRELAY_H
#define MOSHMAN_LOCALRELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;
struct localrelay;

/* mosh datagrams are at most 2048 bytes on receive; larger ones are dropped. */
#define LOCALRELAY_MAX_DATAGRAM 2048

struct localrelay_stats {
	uint64_t pkts_up, bytes_up;     /* from mosh-client towards the server */
	uint64_t pkts_down, bytes_down; /* from the server to mosh-client */
	int64_t last_up_ms;             /* ms epoch of the last client datagram, 0 never */
	int64_t last_down_ms;           /* ms epoch of the last server datagram, 0 never */
	uint64_t dropped;               /* foreign senders, oversize, no path, no client */
	/* With the session key (localrelay_set_key): */
	int keyed;             /* a key is set: the fields below are measured */
	uint64_t unauthentic;  /* datagrams that do not open under it (in dropped) */
	int64_t last_heard_ms; /* ms epoch of the last server datagram answering a
					 * client timestamp: proof both directions work */
	int64_t rtt_ms;        /* the round trip mosh's timestamps give, -1 none */
};

/* Where client datagrams go.  send() returns 0 or -1 (the datagram is lost, as UDP may
 * lose it); free() releases the path; roam() (may be NULL) says the network under the
 * path changed or the machine woke (src/link/netwatch.h).  A path hands server
 * datagrams back with localrelay_deliver(). */
struct localrelay_path_ops {
	const char *name; /* "udp", "tcp" or "auto" */
	int (*send)(void *path, const void *buf, size_t len);
	void (*free)(void *path);
	void (*roam)(void *path, const char *why);
};

struct localrelay *localrelay_new(struct ev_loop *, char *err, size_t errlen);
/* The same on a given numeric address and port (0: ephemeral).  any_sender != 0 accepts
 * datagrams from any address (moshman tunnel on a non-loopback address), else loopback
 * only. */
struct localrelay *localrelay_new_at(struct ev_loop *, const char *addr, int port, int any_sender,
    char *err, size_t errlen);
void localrelay_free(struct localrelay *);
int localrelay_port(const struct localrelay *);
/* Installs the path (freeing any previous one).  NULL ops: datagrams are dropped. */
void localrelay_set_path(struct localrelay *, const struct localrelay_path_ops *, void *path);
const char *localrelay_path_name(const struct localrelay *);
/* The session key (MOSH CONNECT's 22 base64 characters).  From then on only datagrams
 * that open under it count (src/link/moshpkt.h): the relay follows only a sender that is
 * mosh-client (a local user flooding the port moves nothing), forwards only its
 * datagrams, reads the round trip from mosh's timestamps, and tells a server that hears
 * the client from one that only talks.  -1 (nothing changes) if it is not a key. */
int localrelay_set_key(struct localrelay *, const char *b64);

/* A datagram from the server side, for the newest client port.  Returns
 * LOCALRELAY_HEARD when it shows the server hears the client (it answers a client
 * timestamp; without a key every datagram counts), LOCALRELAY_TALKS when it is
 * mosh-server's but answers nothing, LOCALRELAY_DROPPED when it was not delivered. */
enum {
	LOCALRELAY_DROPPED = -1,
	LOCALRELAY_TALKS = 0,
	LOCALRELAY_HEARD = 1
};
int localrelay_deliver(struct localrelay *, const void *buf, size_t len);
/* The network changed (or a wake): the path acts at once (its roam op). */
void localrelay_roam(struct localrelay *, const char *why);
void localrelay_get_stats(const struct localrelay *, struct localrelay_stats *);

/* Is this sender allowed to talk to the relay?  127.0.0.0/8 and ::1 only. (Pure.) */
int localrelay_sender_ok(const struct sockaddr *, socklen_t);

/* The direct UDP path to addr:port (numeric address): an unconnected socket that never
 * pins a source address, rebuilt on a network change (src/link/udpsock.h).  Installs
 * itself into the relay.  -1 with a message on failure. */
int localrelay_use_udp(struct localrelay *, const char *addr, int port, char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * UDP sockets, written once: a numeric address resolved for UDP, a non-blocking socket
 * for it, and the "leg" that carries mosh's datagrams to a UDP peer (the direct path of
 * transport udp, the UDP half of transport auto).
 *
 * A leg never pins a source address: its socket is not connect()ed and every datagram
 * goes out with sendto(), so the kernel picks the source per datagram, as mosh-client's
 * own socket does.  An address that disappears (a roam, a new DHCP lease, another uplink)
 * costs nothing: the next datagram leaves from the new one.  What comes back is accepted
 * only from the peer's address and port (an unconnected socket hears anyone).  A send
 * that fails because the network under it changed (ENETUNREACH, EADDRNOTAVAIL, EINVAL,
 * ENETDOWN, EHOSTUNREACH) rebuilds the socket at once (a new source port, as a NAT wants)
 * and sends again; so does udpsock_leg_rebuild() on a network change or a wake, which
 * also sends the last datagram again so the peer learns the new address without waiting
 * for the client's next one.
 */
#ifndef MOSHMAN_UDPSOCK_H
#define MOSHMAN_UDPSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;

struct udpsock_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* addr is numeric (IPv4 or IPv6), port 0..65535.  passive: for bind().  -1 with a
 * message naming addr. */
int udpsock_resolve(const char *addr, int port, int passive, struct udpsock_addr *, char *err,
    size_t errlen);
/* A non-blocking, close-on-exec UDP socket of a's family, bound to a when bind_it.
 * -1 with a message. */
int udpsock_open(const struct udpsock_addr *a, int bind_it, char *err, size_t errlen);
/* The port of a bound socket, -1 on error. */
int udpsock_local_port(int fd);
/* Same family, address and port. (Pure.) */
int udpsock_same(const struct udpsock_addr *, const struct sockaddr *, socklen_t);
/* Is this send errno one that a changed network causes (rebuild the socket)? (Pure.) */
int udpsock_rebuild_errno(int e);

/* ---- a leg: datagrams to and from one UDP peer --------------------------------------- */

struct udpsock_leg;
typedef void (*udpsock_rx_cb)(const void *buf, size_t len, void *arg);

struct udpsock_leg_stats {
	uint64_t rebuilds; /* sockets replaced (send errors, network changes) */
	uint64_t foreign;  /* datagrams from anyone but the peer, dropped */
	int last_errno;    /* of the last failed send, 0 none */
};

/* Peer addr:port (numeric).  Datagrams from the peer go to rx.  NULL with a message. */
struct udpsock_leg *udpsock_leg_new(struct ev_loop *, const char *addr, int port, udpsock_rx_cb rx,
    void *arg, char *err, size_t errlen);
void udpsock_leg_free(struct udpsock_leg *);
/* 0 sent, -1 lost (logged once per errno change). */
int udpsock_leg_send(struct udpsock_leg *, const void *buf, size_t len);
/* The network changed (why: for the log): a new socket now, and the last datagram again. */
void udpsock_leg_rebuild(struct udpsock_leg *, const char *why);
const struct udpsock_addr *udpsock_leg_peer(const struct udpsock_leg *);
void udpsock_leg_get_stats(const struct udpsock_leg *, struct udpsock_leg_stats *);

#endif

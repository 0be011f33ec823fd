/* SPDX-License-Identifier: MIT */
#include "src/link/udpsock.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/util/log.h"
#include "src/util/xmalloc.h"

/* mosh's receive buffer: larger datagrams are not mosh's (src/link/localrelay.h). */
#define UDPSOCK_MAX 2048

int
udpsock_resolve(const char *addr, int port, int passive, struct udpsock_addr *out, char *err,
    size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];
	int rc;

	memset(out, 0, sizeof *out);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(portstr, sizeof portstr, "%d", port);
	if ((rc = getaddrinfo(addr, portstr, &hints, &ai)) != 0 || ai == NULL) {
		snprintf(err, errlen, "bad address %s: %s", addr,
		    rc != 0 ? gai_strerror(rc) : "no result");
		return -1;
	}
	if (ai->ai_addrlen > sizeof out->ss) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "bad address %s: too long", addr);
		return -1;
	}
	memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
	out->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int
udpsock_open(const struct udpsock_addr *a, int bind_it, char *err, size_t errlen)
{
	int fd;

	if ((fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "cannot create a UDP socket: %s", strerror(errno));
		return -1;
	}
	if (bind_it && bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		snprintf(err, errlen, "cannot bind a UDP socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
udpsock_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	return -1;
}

int
udpsock_same(const struct udpsock_addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL || sa->sa_family != a->ss.ss_family)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *x = (const void *)sa, *y = (const void *)&a->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *x = (const void *)sa, *y = (const void *)&a->ss;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return 0;
}

int
udpsock_rebuild_errno(int e)
{
	return e == ENETUNREACH || e == EADDRNOTAVAIL || e == EINVAL || e == ENETDOWN ||
	    e == EHOSTUNREACH;
}

/* ---- the leg ------------------------------------------------------------------------ */

struct udpsock_leg {
	struct ev_loop *loop;
	struct udpsock_addr peer;
	int fd;
	ev_io rd;
	udpsock_rx_cb rx;
	void *arg;
	unsigned char last[UDPSOCK_MAX]; /* the last datagram, sent again after a rebuild */
	size_t lastlen;
	struct udpsock_leg_stats st;
};

static void
leg_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udpsock_leg *l = w->data;
	unsigned char buf[UDPSOCK_MAX + 1];
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;

	/* A bounded batch, so one busy peer cannot starve the loop. */
	for (int i = 0; i < 64; i++) {
		fromlen = sizeof from;
		n = recvfrom(l->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1)
			return;
		if (!udpsock_same(&l->peer, (struct sockaddr *)&from, fromlen)) {
			l->st.foreign++;
			continue;
		}
		if (n == 0 || n > UDPSOCK_MAX)
			continue;
		l->rx(buf, (size_t)n, l->arg);
	}
}

/* A fresh socket in place of the old one; -1 (the old one stays) if none can be made. */
static int
leg_socket(struct udpsock_leg *l)
{
	char err[128];
	int fd;

	if ((fd = udpsock_open(&l->peer, 0, err, sizeof err)) == -1) {
		log_debug("udp: %s", err);
		return -1;
	}
	if (l->fd != -1) {
		ev_io_stop(l->loop, &l->rd);
		close(l->fd);
		l->st.rebuilds++;
	}
	l->fd = fd;
	ev_io_init(&l->rd, leg_read_cb, fd, EV_READ);
	l->rd.data = l;
	ev_io_start(l->loop, &l->rd);
	return 0;
}

struct udpsock_leg *
udpsock_leg_new(struct ev_loop *loop, const char *addr, int port, udpsock_rx_cb rx, void *arg,
    char *err, size_t errlen)
{
	struct udpsock_leg *l;
	struct udpsock_addr peer;

	if (udpsock_resolve(addr, port, 0, &peer, err, errlen) == -1)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->loop = loop;
	l->peer = peer;
	l->fd = -1;
	l->rx = rx;
	l->arg = arg;
	if (leg_socket(l) == -1) {
		snprintf(err, errlen, "cannot open UDP to %s port %d: %s", addr, port,
		    strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

void
udpsock_leg_free(struct udpsock_leg *l)
{
	if (l == NULL)
		return;
	ev_io_stop(l->loop, &l->rd);
	close(l->fd);
	explicit_bzero(l->last, sizeof l->last);
	free(l);
}

static ssize_t
leg_sendto(struct udpsock_leg *l, const void *buf, size_t len)
{
	return sendto(l->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&l->peer.ss,
	    l->peer.len);
}

int
udpsock_leg_send(struct udpsock_leg *l, const void *buf, size_t len)
{
	int e;

	if (len <= sizeof l->last) {
		memcpy(l->last, buf, len);
		l->lastlen = len;
	}
	if (leg_sendto(l, buf, len) != -1) {
		l->st.last_errno = 0;
		return 0;
	}
	e = errno;
	if (udpsock_rebuild_errno(e) && leg_socket(l) == 0 && leg_sendto(l, buf, len) != -1) {
		log_debug("udp: send: %s: new socket", strerror(e));
		l->st.last_errno = 0;
		return 0;
	}
	/* ECONNREFUSED (an ICMP error) is normal while the server starts; say each new
	 * error once, not once per datagram. */
	if (e != l->st.last_errno)
		log_debug("udp: send: %s", strerror(e));
	l->st.last_errno = e;
	return -1;
}

void
udpsock_leg_rebuild(struct udpsock_leg *l, const char *why)
{
	if (leg_socket(l) == -1)
		return;
	log_debug("udp: new socket (%s)", why);
	if (l->lastlen > 0 && leg_sendto(l, l->last, l->lastlen) == -1)
		l->st.last_errno = errno;
}

const struct udpsock_addr *
udpsock_leg_peer(const struct udpsock_leg *l)
{
	return &l->peer;
}

void
udpsock_leg_get_stats(const struct udpsock_leg *l, struct udpsock_leg_stats *out)
{
	*out = l->st;
}

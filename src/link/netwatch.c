/* SPDX-License-Identifier: MIT */
#include "src/link/netwatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/link/wake.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/xmalloc.h"

/* ---- pure pieces ------------------------------------------------------------------- */

/* The kernel's NLMSG_DATA, IFA_RTA, RTM_RTA, RTA_NEXT and RTA_DATA cast away const;
 * these are the same arithmetic on const pointers. */
static const void *
nl_data(const struct nlmsghdr *h)
{
	return (const char *)h + NLMSG_LENGTH(0);
}

static const struct rtattr *
rta_first(const void *body, size_t bodylen)
{
	return (const void *)((const char *)body + NLMSG_ALIGN(bodylen));
}

static const struct rtattr *
rta_next(const struct rtattr *rta, int *len)
{
	*len -= (int)RTA_ALIGN(rta->rta_len);
	return (const void *)((const char *)rta + RTA_ALIGN(rta->rta_len));
}

static const void *
rta_data(const struct rtattr *rta)
{
	return (const char *)rta + RTA_LENGTH(0);
}

static void
parse_addr(const struct nlmsghdr *h, struct netwatch_msg *m)
{
	const struct ifaddrmsg *ifa = nl_data(h);
	const struct rtattr *rta;
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifa);
	size_t alen = ifa->ifa_family == AF_INET6 ? 16 : 4;

	m->kind = NETWATCH_ADDR;
	m->added = h->nlmsg_type == RTM_NEWADDR;
	m->family = ifa->ifa_family;
	m->prefixlen = ifa->ifa_prefixlen;
	m->local_scope = ifa->ifa_scope >= RT_SCOPE_HOST;
	for (rta = rta_first(ifa, sizeof *ifa); RTA_OK(rta, len); rta = rta_next(rta, &len)) {
		/* IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS
		 * everywhere else (and the peer on point-to-point). */
		if ((rta->rta_type == IFA_LOCAL || rta->rta_type == IFA_ADDRESS) &&
		    RTA_PAYLOAD(rta) >= alen) {
			memcpy(m->addr, rta_data(rta), alen);
			if (rta->rta_type == IFA_LOCAL)
				break;
		}
	}
}

static void
parse_route(const struct nlmsghdr *h, struct netwatch_msg *m)
{
	const struct rtmsg *rt = nl_data(h);
	const struct rtattr *rta;
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *rt);
	size_t alen = rt->rtm_family == AF_INET6 ? 16 : 4;

	m->kind = NETWATCH_ROUTE;
	m->added = h->nlmsg_type == RTM_NEWROUTE;
	m->family = rt->rtm_family;
	m->prefixlen = rt->rtm_dst_len;
	m->table = rt->rtm_table;
	m->local_scope = rt->rtm_type != RTN_UNICAST;
	for (rta = rta_first(rt, sizeof *rt); RTA_OK(rta, len); rta = rta_next(rta, &len)) {
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) >= 4)
			memcpy(&m->table, rta_data(rta), 4);
		else if (rta->rta_type == RTA_DST && RTA_PAYLOAD(rta) >= alen)
			memcpy(m->addr, rta_data(rta), alen);
	}
}

int
netwatch_parse(const void *buf, size_t len, struct netwatch_msg *out, int max)
{
	const struct nlmsghdr *h = buf;
	int n = 0;
	size_t left = len;

	if (buf == NULL)
		return -1;
	/* The buffer need not be aligned for the NLMSG macros: callers pass what recv()
	 * filled, which is; the fuzzer copies into an aligned buffer. */
	while (left > 0 && n < max) {
		if (left < sizeof *h || h->nlmsg_len < sizeof *h || h->nlmsg_len > left)
			return -1;
		memset(&out[n], 0, sizeof out[n]);
		switch (h->nlmsg_type) {
		case RTM_NEWADDR:
		case RTM_DELADDR:
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
				return -1;
			parse_addr(h, &out[n]);
			if (out[n].family == AF_INET || out[n].family == AF_INET6)
				n++;
			break;
		case RTM_NEWROUTE:
		case RTM_DELROUTE:
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
				return -1;
			parse_route(h, &out[n]);
			if (out[n].family == AF_INET || out[n].family == AF_INET6)
				n++;
			break;
		case NLMSG_ERROR:
		case NLMSG_OVERRUN:
			out[n++].kind = NETWATCH_OVERRUN;
			break;
		default:
			break;
		}
		if (NLMSG_ALIGN(h->nlmsg_len) >= left)
			break;
		left -= NLMSG_ALIGN(h->nlmsg_len);
		h = (const struct nlmsghdr *)(const void *)((const char *)h +
		    NLMSG_ALIGN(h->nlmsg_len));
	}
	return n;
}

/* Does prefix/plen cover a (alen bytes)? */
static int
covers(const unsigned char *prefix, int plen, const unsigned char *a, int alen)
{
	int full = plen / 8, rest = plen % 8;

	if (plen < 0 || plen > alen * 8)
		return 0;
	if (memcmp(prefix, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((prefix[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

static const unsigned char *
peer_bytes(const struct udpsock_addr *p, int *alen)
{
	if (p->ss.ss_family == AF_INET6) {
		*alen = 16;
		return ((const struct sockaddr_in6 *)(const void *)&p->ss)->sin6_addr.s6_addr;
	}
	*alen = 4;
	return (const unsigned char *)&((const struct sockaddr_in *)(const void *)&p->ss)
	    ->sin_addr.s_addr;
}

int
netwatch_touches(const struct netwatch_msg *m, const struct udpsock_addr *peer)
{
	const unsigned char *pa;
	int alen;

	if (m->kind == NETWATCH_OVERRUN)
		return 1; /* messages were lost: look again */
	if (m->local_scope)
		return 0; /* loopback addresses, local/broadcast routes */
	if (m->kind == NETWATCH_ROUTE && m->table == RT_TABLE_LOCAL)
		return 0;
	if (peer == NULL)
		return 1;
	if (m->family != peer->ss.ss_family)
		return 0;
	if (m->kind == NETWATCH_ADDR)
		return 1; /* any address of the family may become the source */
	pa = peer_bytes(peer, &alen);
	return covers(m->addr, m->prefixlen, pa, alen);
}

enum netwatch_verdict
netwatch_judge(const struct netwatch_src *was, const struct netwatch_src *now)
{
	if (!now->have)
		return NETWATCH_LOST;
	if (!was->have)
		return NETWATCH_CHANGED;
	if (was->addr.len != now->addr.len ||
	    !udpsock_same(&was->addr, (const struct sockaddr *)&now->addr.ss, now->addr.len))
		return NETWATCH_CHANGED;
	return NETWATCH_SAME;
}

void
netwatch_src_text(const struct netwatch_src *s, char *out, size_t outlen)
{
	const void *a;

	if (!s->have) {
		snprintf(out, outlen, "none");
		return;
	}
	a = s->addr.ss.ss_family == AF_INET6
	    ? (const void *)&((const struct sockaddr_in6 *)(const void *)&s->addr.ss)->sin6_addr
	    : (const void *)&((const struct sockaddr_in *)(const void *)&s->addr.ss)->sin_addr;
	if (inet_ntop(s->addr.ss.ss_family, a, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

/* ---- the watcher ------------------------------------------------------------------- */

struct netwatch {
	struct ev_loop *loop;
	int fd;
	ev_io rd;
	ev_timer tick;
	int have_peer;
	struct udpsock_addr peer;
	struct netwatch_src src;
	ev_timer settle; /* no peer: one call per burst of changes */
	struct wake wake;
	netwatch_cb cb;
	void *arg;
};

/* Without a peer: an address of documentation (TEST-NET-1) shows the default route's
 * source; connect() on UDP sends nothing. */
void
netwatch_source(const struct udpsock_addr *peer, struct netwatch_src *out)
{
	struct udpsock_addr any;
	socklen_t len;
	int fd;

	memset(out, 0, sizeof *out);
	if (peer == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&any.ss;

		memset(&any, 0, sizeof any);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		sin->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
		any.len = sizeof *sin;
		peer = &any;
	}
	if ((fd = socket(peer->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	len = sizeof out->addr.ss;
	if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&out->addr.ss, &len) == 0) {
		out->addr.len = len;
		if (out->addr.ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)&out->addr.ss)->sin6_port = 0;
		else
			((struct sockaddr_in *)(void *)&out->addr.ss)->sin_port = 0;
		out->have = 1;
	}
	close(fd);
}

static void
nw_look(struct netwatch *w)
{
	struct netwatch_src now;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], why[160];
	enum netwatch_verdict v;

	netwatch_source(w->have_peer ? &w->peer : NULL, &now);
	v = netwatch_judge(&w->src, &now);
	netwatch_src_text(&w->src, a, sizeof a);
	netwatch_src_text(&now, b, sizeof b);
	if (v == NETWATCH_SAME)
		return;
	w->src = now;
	if (v == NETWATCH_LOST) {
		log_debug("netwatch: no route to the peer now (source was %s)", a);
		return;
	}
	snprintf(why, sizeof why, "network changed: source address %s -> %s", a, b);
	log_debug("netwatch: %s", why);
	w->cb(why, w->arg);
}

static void
nw_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct netwatch *w = io->data;
	struct netwatch_msg m[32];
	union {
		struct nlmsghdr h;
		char b[16384];
	} buf;
	ssize_t len;
	int n, touched = 0;

	/* A bounded batch; one look at the route for all of it. */
	for (int i = 0; i < 16; i++) {
		len = recv(w->fd, buf.b, sizeof buf.b, MSG_DONTWAIT);
		if (len == -1) {
			if (errno == ENOBUFS)
				touched = 1; /* the kernel dropped messages: look */
			break;
		}
		if ((n = netwatch_parse(buf.b, (size_t)len, m, 32)) == -1)
			continue;
		for (int j = 0; j < n && !touched; j++)
			touched = netwatch_touches(&m[j], w->have_peer ? &w->peer : NULL);
	}
	if (!touched)
		return;
	if (w->have_peer)
		nw_look(w);
	else {
		/* No peer to ask the kernel about (reached through a proxy): every
		 * non-local change counts, once per burst (one roam is a dozen messages). */
		ev_timer_stop(w->loop, &w->settle);
		ev_timer_set(&w->settle, NETWATCH_SETTLE_MS / 1000.0, 0.);
		ev_timer_start(w->loop, &w->settle);
	}
}

static void
nw_settle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct netwatch *w = t->data;

	log_debug("netwatch: an address or route changed");
	w->cb("network changed: an address or route changed", w->arg);
}

static void
nw_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct netwatch *w = t->data;
	char why[128];

	if (!wake_tick(&w->wake, clock_boot_ms(), clock_mono_ms(), why, sizeof why))
		return;
	log_debug("netwatch: %s", why);
	/* The route may have changed while we were away: learn it without a second call. */
	netwatch_source(w->have_peer ? &w->peer : NULL, &w->src);
	w->cb(why, w->arg);
}

struct netwatch *
netwatch_new(struct ev_loop *loop, const struct udpsock_addr *peer, netwatch_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sockaddr_nl sa;
	struct netwatch *w;
	int fd;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE)) ==
	    -1) {
		snprintf(err, errlen, "no netlink socket: %s", strerror(errno));
		return NULL;
	}
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	sa.nl_groups =
	    RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		snprintf(err, errlen, "cannot watch the network (netlink): %s", strerror(errno));
		close(fd);
		return NULL;
	}
	w = xcalloc(1, sizeof *w);
	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	if (peer != NULL) {
		w->peer = *peer;
		w->have_peer = 1;
	}
	netwatch_source(peer, &w->src);
	wake_init(&w->wake);
	wake_tick(&w->wake, clock_boot_ms(), clock_mono_ms(), NULL, 0);
	ev_io_init(&w->rd, nw_read_cb, fd, EV_READ);
	w->rd.data = w;
	ev_io_start(loop, &w->rd);
	ev_timer_init(&w->settle, nw_settle_cb, 0., 0.);
	w->settle.data = w;
	ev_timer_init(&w->tick, nw_tick_cb, WAKE_TICK_MS / 1000.0, WAKE_TICK_MS / 1000.0);
	w->tick.data = w;
	ev_timer_start(loop, &w->tick);
	return w;
}

void
netwatch_free(struct netwatch *w)
{
	if (w == NULL)
		return;
	ev_io_stop(w->loop, &w->rd);
	ev_timer_stop(w->loop, &w->tick);
	ev_timer_stop(w->loop, &w->settle);
	close(w->fd);
	free(w);
}

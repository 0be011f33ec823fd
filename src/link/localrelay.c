/* SPDX-License-Identifier: MIT */
#include "src/link/localrelay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "src/link/moshpkt.h"
#include "src/link/udpsock.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/xmalloc.h"

struct localrelay {
	struct ev_loop *loop;
	int fd;
	int port;
	ev_io rd;
	struct sockaddr_storage client; /* newest loopback source */
	socklen_t clientlen;
	const struct localrelay_path_ops *ops;
	void *path;
	struct localrelay_stats st;
	int any_sender;
	struct moshpkt_key *key; /* NULL: no key, follow the newest loopback sender */
	uint64_t client_seq;     /* newest authentic client counter seen */
	int have_client_seq;
};

int
localrelay_sender_ok(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127 && sin->sin_port != 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) && s6->sin6_port != 0;
	}
	return 0;
}

/* Is this mosh-client's own datagram (it opens under the key, goes to the server)?  Only
 * its newest counter may move the reply address (a replay of an old one may not). */
static int
relay_is_client(struct localrelay *r, const void *buf, size_t len)
{
	struct moshpkt p;

	if (moshpkt_open(r->key, buf, len, &p) == -1 || p.to_client) {
		r->st.unauthentic++;
		r->st.dropped++;
		return 0;
	}
	if (r->have_client_seq && p.seq + 64 < r->client_seq) {
		r->st.dropped++;
		return 0; /* far behind the newest: a replay, not a reordering */
	}
	if (!r->have_client_seq || p.seq > r->client_seq)
		r->client_seq = p.seq;
	r->have_client_seq = 1;
	return 1;
}

static void
relay_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct localrelay *r = w->data;
	unsigned char buf[LOCALRELAY_MAX_DATAGRAM + 1];
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;
	int i;

	/* Drain a bounded batch so one busy client cannot starve the loop. */
	for (i = 0; i < 64; i++) {
		fromlen = sizeof from;
		n = recvfrom(r->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("relay: recvfrom: %s", strerror(errno));
			return;
		}
		if ((!r->any_sender && !localrelay_sender_ok((struct sockaddr *)&from, fromlen)) ||
		    n > LOCALRELAY_MAX_DATAGRAM || n == 0) {
			r->st.dropped++;
			continue;
		}
		if (r->key != NULL && !relay_is_client(r, buf, (size_t)n))
			continue;
		/* The newest sender wins: mosh-client hops ports after silence. */
		if (fromlen != r->clientlen || memcmp(&from, &r->client, fromlen) != 0) {
			if (r->clientlen != 0)
				log_debug("relay: client moved to a new source port");
			memcpy(&r->client, &from, fromlen);
			r->clientlen = fromlen;
		}
		r->st.pkts_up++;
		r->st.bytes_up += (uint64_t)n;
		r->st.last_up_ms = clock_epoch_ms();
		if (r->ops == NULL || r->ops->send(r->path, buf, (size_t)n) == -1)
			r->st.dropped++;
	}
}

struct localrelay *
localrelay_new(struct ev_loop *loop, char *err, size_t errlen)
{
	return localrelay_new_at(loop, "127.0.0.1", 0, 0, err, errlen);
}

struct localrelay *
localrelay_new_at(struct ev_loop *loop, const char *addr, int port, int any_sender, char *err,
    size_t errlen)
{
	struct localrelay *r = NULL;
	struct udpsock_addr a;
	char why[160];
	int fd;

	if (udpsock_resolve(addr, port, 1, &a, why, sizeof why) == -1) {
		snprintf(err, errlen, "bad local %s", why);
		return NULL;
	}
	if ((fd = udpsock_open(&a, 1, why, sizeof why)) == -1) {
		snprintf(err, errlen, "local relay on %s port %d: %s", addr, port, why);
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->loop = loop;
	r->fd = fd;
	r->any_sender = any_sender;
	r->port = udpsock_local_port(fd);
	r->st.rtt_ms = -1;
	ev_io_init(&r->rd, relay_read_cb, fd, EV_READ);
	r->rd.data = r;
	ev_io_start(loop, &r->rd);
	return r;
}

void
localrelay_free(struct localrelay *r)
{
	if (r == NULL)
		return;
	localrelay_set_path(r, NULL, NULL);
	ev_io_stop(r->loop, &r->rd);
	close(r->fd);
	moshpkt_key_free(r->key);
	free(r);
}

int
localrelay_port(const struct localrelay *r)
{
	return r->port;
}

void
localrelay_set_path(struct localrelay *r, const struct localrelay_path_ops *ops, void *path)
{
	if (r->ops != NULL && r->ops->free != NULL)
		r->ops->free(r->path);
	r->ops = ops;
	r->path = path;
}

const char *
localrelay_path_name(const struct localrelay *r)
{
	return r->ops != NULL ? r->ops->name : NULL;
}

int
localrelay_set_key(struct localrelay *r, const char *b64)
{
	struct moshpkt_key *k;

	if ((k = moshpkt_key_new(b64)) == NULL)
		return -1;
	moshpkt_key_free(r->key);
	r->key = k;
	r->st.keyed = 1;
	return 0;
}

int
localrelay_deliver(struct localrelay *r, const void *buf, size_t len)
{
	struct moshpkt p;
	int rc = LOCALRELAY_HEARD;

	if (len == 0 || len > LOCALRELAY_MAX_DATAGRAM || r->clientlen == 0) {
		r->st.dropped++;
		return LOCALRELAY_DROPPED;
	}
	if (r->key != NULL) {
		if (moshpkt_open(r->key, buf, len, &p) == -1 || !p.to_client) {
			r->st.unauthentic++;
			r->st.dropped++;
			return LOCALRELAY_DROPPED;
		}
		if (p.reply == MOSHPKT_NO_REPLY)
			rc = LOCALRELAY_TALKS;
		else {
			r->st.rtt_ms = moshpkt_rtt(p.reply, clock_mono_ms());
			r->st.last_heard_ms = clock_epoch_ms();
		}
	}
	r->st.pkts_down++;
	r->st.bytes_down += len;
	r->st.last_down_ms = clock_epoch_ms();
	if (sendto(r->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&r->client, r->clientlen) ==
	    -1)
		r->st.dropped++;
	return rc;
}

void
localrelay_roam(struct localrelay *r, const char *why)
{
	if (r->ops != NULL && r->ops->roam != NULL)
		r->ops->roam(r->path, why);
}

void
localrelay_get_stats(const struct localrelay *r, struct localrelay_stats *out)
{
	*out = r->st;
}

/* ---- the direct UDP path ---------------------------------------------------------- */

static void
udp_path_rx(const void *buf, size_t len, void *arg)
{
	(void)localrelay_deliver(arg, buf, len);
}

static int
udp_path_send(void *p, const void *buf, size_t len)
{
	return udpsock_leg_send(p, buf, len);
}

static void
udp_path_roam(void *p, const char *why)
{
	udpsock_leg_rebuild(p, why);
}

static void
udp_path_free(void *p)
{
	udpsock_leg_free(p);
}

static const struct localrelay_path_ops udp_path_ops = {
	"udp",
	udp_path_send,
	udp_path_free,
	udp_path_roam,
};

int
localrelay_use_udp(struct localrelay *r, const char *addr, int port, char *err, size_t errlen)
{
	struct udpsock_leg *l;

	if ((l = udpsock_leg_new(r->loop, addr, port, udp_path_rx, r, err, errlen)) == NULL)
		return -1;
	localrelay_set_path(r, &udp_path_ops, l);
	return 0;
}

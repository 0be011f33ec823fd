/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/link/localrelay.h"
#include "src/link/moshpkt.h"
#include "tests/unit/unit.h"

static void
sender_filter(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 s6;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5000);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CHECK(localrelay_sender_ok((struct sockaddr *)&sin, sizeof sin));
	inet_pton(AF_INET, "127.9.8.7", &sin.sin_addr);
	CHECK(localrelay_sender_ok((struct sockaddr *)&sin, sizeof sin));
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	CHECK(!localrelay_sender_ok((struct sockaddr *)&sin, sizeof sin));
	inet_pton(AF_INET, "128.0.0.1", &sin.sin_addr);
	CHECK(!localrelay_sender_ok((struct sockaddr *)&sin, sizeof sin));
	/* A truncated address is not trusted. */
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CHECK(!localrelay_sender_ok((struct sockaddr *)&sin, 4));
	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(5000);
	s6.sin6_addr = in6addr_loopback;
	CHECK(localrelay_sender_ok((struct sockaddr *)&s6, sizeof s6));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &s6.sin6_addr);
	CHECK(!localrelay_sender_ok((struct sockaddr *)&s6, sizeof s6));
	CHECK(!localrelay_sender_ok(NULL, 0));
}

static int
udp_bound(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
to_port(int fd, int port, const char *msg)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sin, sizeof sin);
}

static void
wake_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

static void
give_up_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop, and so the relay, until a datagram waits on fd (at most 2 s), then
 * receives it; returns its length or -1. */
static ssize_t
relay_recv(struct ev_loop *loop, int fd, char *buf, size_t len, struct sockaddr_in *from)
{
	socklen_t fl = sizeof *from;
	ev_io io;
	ev_timer t;
	ssize_t n;
	int late = 0;

	ev_io_init(&io, wake_cb, fd, EV_READ);
	ev_timer_init(&t, give_up_cb, 2.0, 0.);
	t.data = &late;
	ev_io_start(loop, &io);
	ev_timer_start(loop, &t);
	while ((n = recvfrom(fd, buf, len - 1, MSG_DONTWAIT, (struct sockaddr *)from, &fl)) == -1 &&
	    !late)
		ev_run(loop, EVRUN_ONCE);
	ev_io_stop(loop, &io);
	ev_timer_stop(loop, &t);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Lets the relay handle what is already queued on its sockets (loopback UDP arrives at
 * once, and the relay forwards from its callbacks): no waiting, for the checks that
 * nothing arrives. */
static void
settle(struct ev_loop *loop)
{
	for (int i = 0; i < 4; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* One datagram if one is there now, else -1. */
static ssize_t
recv_now(int fd, char *buf, size_t len, struct sockaddr_in *from)
{
	socklen_t fl = sizeof *from;
	ssize_t n = recvfrom(fd, buf, len - 1, MSG_DONTWAIT, (struct sockaddr *)from, &fl);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void
forward_both_ways(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct localrelay *r;
	struct localrelay_stats st;
	struct sockaddr_in from;
	char err[256], buf[64];
	int srv_port, c1_port, c2_port, srv, c1, c2;

	srv = udp_bound(&srv_port);
	c1 = udp_bound(&c1_port);
	c2 = udp_bound(&c2_port);
	r = localrelay_new(loop, err, sizeof err);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(localrelay_port(r) > 0);
	CHECK_INT(localrelay_use_udp(r, "127.0.0.1", srv_port, err, sizeof err), 0);
	CHECK_STR(localrelay_path_name(r), "udp");

	to_port(c1, localrelay_port(r), "hello");
	CHECK_INT(relay_recv(loop, srv, buf, sizeof buf, &from), 5);
	CHECK_STR(buf, "hello");
	/* The server answers the relay's path socket; the reply reaches client 1. */
	sendto(srv, "world", 5, 0, (struct sockaddr *)&from, sizeof from);
	CHECK_INT(relay_recv(loop, c1, buf, sizeof buf, &from), 5);
	CHECK_STR(buf, "world");
	CHECK_INT(ntohs(from.sin_port), localrelay_port(r));

	/* The client hops to a new port: replies follow the newest one. */
	to_port(c2, localrelay_port(r), "hop");
	CHECK_INT(relay_recv(loop, srv, buf, sizeof buf, &from), 3);
	sendto(srv, "back", 4, 0, (struct sockaddr *)&from, sizeof from);
	CHECK_INT(relay_recv(loop, c2, buf, sizeof buf, &from), 4);
	CHECK_STR(buf, "back");
	/* The relay sent "back" to one socket in one callback, and loopback delivers
	 * within sendto(): had it gone to c1 as well, it would be there now. */
	CHECK_INT(recv(c1, buf, sizeof buf, MSG_DONTWAIT), -1);

	localrelay_get_stats(r, &st);
	CHECK_INT(st.pkts_up, 2);
	CHECK_INT(st.bytes_up, 8);
	CHECK_INT(st.pkts_down, 2);
	CHECK_INT(st.bytes_down, 9);
	CHECK(st.last_up_ms > 0);
	CHECK(st.last_down_ms >= st.last_up_ms - 1000);

	localrelay_free(r);
	close(srv);
	close(c1);
	close(c2);
	ev_loop_destroy(loop);
}

static void
no_client_no_delivery(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct localrelay_stats st;
	struct localrelay *r;
	char err[256];

	r = localrelay_new(loop, err, sizeof err);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	/* Nothing has spoken to the relay yet: a server datagram has nowhere to go. */
	localrelay_deliver(r, "x", 1);
	localrelay_get_stats(r, &st);
	CHECK_INT(st.pkts_down, 0);
	CHECK_INT(st.dropped, 1);
	CHECK_INT(localrelay_use_udp(r, "not-an-address", 1, err, sizeof err), -1);
	CHECK_HAS(err, "not-an-address");
	localrelay_free(r);
	ev_loop_destroy(loop);
}

#define KEY "Qv/oLnTX2U7ul0nyyMCSxA"

/* A datagram as mosh would send it under KEY. */
static size_t
sealed(unsigned char *b, uint64_t seq, int to_client, uint16_t ts, uint16_t reply)
{
	struct moshpkt_key *k = moshpkt_key_new(KEY);
	struct moshpkt p = { seq, to_client, ts, reply };
	size_t n = moshpkt_seal(k, &p, "state", 5, b, MOSHPKT_MAX);

	moshpkt_key_free(k);
	return n;
}

static void
send_bytes(int fd, int port, const unsigned char *b, size_t n)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(fd, b, n, 0, (struct sockaddr *)&sin, sizeof sin);
}

/* With the session key the relay follows only mosh-client: a flood from another local
 * socket is dropped and never takes the replies; server datagrams are judged. */
static void
keyed_follows_only_the_client(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct localrelay *r;
	struct localrelay_stats st;
	struct sockaddr_in from;
	unsigned char b[MOSHPKT_MAX];
	char err[256], buf[MOSHPKT_MAX];
	int srv_port, cl_port, ev_port, srv, cl, evil;
	size_t n;

	srv = udp_bound(&srv_port);
	cl = udp_bound(&cl_port);
	evil = udp_bound(&ev_port);
	r = localrelay_new(loop, err, sizeof err);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT(localrelay_set_key(r, "not a key"), -1);
	CHECK_INT(localrelay_set_key(r, KEY), 0);
	CHECK_INT(localrelay_use_udp(r, "127.0.0.1", srv_port, err, sizeof err), 0);
	n = sealed(b, 5, 0, 1000, MOSHPKT_NO_REPLY);
	send_bytes(cl, localrelay_port(r), b, n);
	CHECK_INT(relay_recv(loop, srv, buf, sizeof buf, &from), (ssize_t)n);
	/* The flood: junk, and a server-direction datagram (it opens, but is not the
	 * client's).  Neither is forwarded nor moves the reply address. */
	for (int i = 0; i < 20; i++)
		to_port(evil, localrelay_port(r), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	n = sealed(b, 9, 1, 1000, MOSHPKT_NO_REPLY);
	send_bytes(evil, localrelay_port(r), b, n);
	settle(loop);
	CHECK_INT(recv_now(srv, buf, sizeof buf, &from), -1);
	/* The server answers the client's timestamp: heard, and a round trip. */
	n = sealed(b, 0, 1, 9, 1000);
	sendto(srv, b, n, 0, (struct sockaddr *)&from, sizeof from);
	CHECK_INT(relay_recv(loop, cl, buf, sizeof buf, &from), (ssize_t)n);
	CHECK_INT(recv_now(evil, buf, sizeof buf, &from), -1);
	CHECK_INT(localrelay_deliver(r, b, n), LOCALRELAY_HEARD);
	n = sealed(b, 1, 1, 9, MOSHPKT_NO_REPLY);
	CHECK_INT(localrelay_deliver(r, b, n), LOCALRELAY_TALKS);
	CHECK_INT(localrelay_deliver(r, "junk-junk-junk-junk-junk-junk", 29), LOCALRELAY_DROPPED);
	n = sealed(b, 6, 0, 1, MOSHPKT_NO_REPLY);
	CHECK_INT(localrelay_deliver(r, b, n), LOCALRELAY_DROPPED); /* the client's direction */
	/* A replay far behind the newest client datagram does not move the address. */
	n = sealed(b, 500, 0, 1000, MOSHPKT_NO_REPLY);
	send_bytes(cl, localrelay_port(r), b, n);
	settle(loop);
	n = sealed(b, 5, 0, 1000, MOSHPKT_NO_REPLY);
	send_bytes(evil, localrelay_port(r), b, n);
	settle(loop);
	n = sealed(b, 2, 1, 9, MOSHPKT_NO_REPLY);
	CHECK_INT(localrelay_deliver(r, b, n), LOCALRELAY_TALKS);
	CHECK(relay_recv(loop, cl, buf, sizeof buf, &from) > 0);
	CHECK_INT(recv_now(evil, buf, sizeof buf, &from), -1);
	localrelay_get_stats(r, &st);
	CHECK_INT(st.keyed, 1);
	/* Flood: 20 junk and 1 server datagram; handed down: 1 junk and 1 client one. */
	CHECK_INT(st.unauthentic, 23);
	CHECK(st.dropped >= st.unauthentic + 1); /* and the replay */
	CHECK(st.rtt_ms >= 0);
	CHECK(st.last_heard_ms > 0);
	localrelay_free(r);
	close(srv);
	close(cl);
	close(evil);
	ev_loop_destroy(loop);
}

/* The udp path's socket is not connected: datagrams from anyone but the server are
 * dropped, and a roam rebuilds it and sends the last datagram again. */
static void
udp_path_roams(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct localrelay *r;
	struct sockaddr_in from, first;
	char err[256], buf[64];
	int srv_port, cl_port, o_port, srv, cl, other;

	srv = udp_bound(&srv_port);
	cl = udp_bound(&cl_port);
	other = udp_bound(&o_port);
	r = localrelay_new(loop, err, sizeof err);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT(localrelay_use_udp(r, "127.0.0.1", srv_port, err, sizeof err), 0);
	to_port(cl, localrelay_port(r), "one");
	CHECK_INT(relay_recv(loop, srv, buf, sizeof buf, &first), 3);
	/* Someone else aims at the path's socket: not delivered. */
	sendto(other, "fake", 4, 0, (struct sockaddr *)&first, sizeof first);
	settle(loop);
	CHECK_INT(recv_now(cl, buf, sizeof buf, &from), -1);
	localrelay_roam(r, "test");
	CHECK_INT(relay_recv(loop, srv, buf, sizeof buf, &from), 3);
	CHECK_STR(buf, "one");
	CHECK(from.sin_port != first.sin_port); /* a new socket */
	sendto(srv, "two", 3, 0, (struct sockaddr *)&from, sizeof from);
	CHECK_INT(relay_recv(loop, cl, buf, sizeof buf, &from), 3);
	CHECK_STR(buf, "two");
	localrelay_free(r);
	close(srv);
	close(cl);
	close(other);
	ev_loop_destroy(loop);
}

int
main(void)
{
	UNIT_BEGIN("test_localrelay");
	RUN(sender_filter);
	RUN(forward_both_ways);
	RUN(no_client_no_delivery);
	RUN(keyed_follows_only_the_client);
	RUN(udp_path_roams);
	UNIT_END();
}

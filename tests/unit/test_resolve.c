/* SPDX-License-Identifier: MIT */
/* src/ssh/resolve.c: lookups off the loop, and the memory of last good addresses. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "src/ssh/resolve.h"
#include "tests/unit/unit.h"

static struct sockaddr_in
sin4(const char *ip, int port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof s);
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static const char *
ip_of(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const struct sockaddr_in *s = (const void *)ss;

	return inet_ntop(AF_INET, &s->sin_addr, buf, (socklen_t)size);
}

static void
test_memory(void)
{
	struct resolve_memory m;
	struct sockaddr_storage ss;
	struct sockaddr_in a = sin4("10.0.0.1", 22), b = sin4("10.0.0.2", 22);
	socklen_t len = 0;
	char buf[64], host[32];

	memset(&m, 0, sizeof m);
	CHECK_INT(resolve_memory_get(&m, "h", "22", &ss, &len), -1);
	resolve_memory_put(&m, "h", "22", (struct sockaddr *)&a, sizeof a);
	CHECK_INT(resolve_memory_get(&m, "h", "22", &ss, &len), 0);
	CHECK_INT(len, sizeof a);
	CHECK_STR(ip_of(&ss, buf, sizeof buf), "10.0.0.1");
	/* the port is part of the name */
	CHECK_INT(resolve_memory_get(&m, "h", "2222", &ss, &len), -1);
	/* a newer address replaces the old one */
	resolve_memory_put(&m, "h", "22", (struct sockaddr *)&b, sizeof b);
	CHECK_INT(resolve_memory_get(&m, "h", "22", &ss, &len), 0);
	CHECK_STR(ip_of(&ss, buf, sizeof buf), "10.0.0.2");
	resolve_memory_forget(&m, "h", "22");
	CHECK_INT(resolve_memory_get(&m, "h", "22", &ss, &len), -1);

	/* Full: the least recently used goes.  h0 is read again, so h1 is the oldest. */
	for (int i = 0; i < RESOLVE_MEMORY; i++) {
		snprintf(host, sizeof host, "h%d", i);
		resolve_memory_put(&m, host, "22", (struct sockaddr *)&a, sizeof a);
	}
	CHECK_INT(resolve_memory_get(&m, "h0", "22", &ss, &len), 0);
	resolve_memory_put(&m, "new", "22", (struct sockaddr *)&b, sizeof b);
	CHECK_INT(resolve_memory_get(&m, "h1", "22", &ss, &len), -1);
	CHECK_INT(resolve_memory_get(&m, "h0", "22", &ss, &len), 0);
	CHECK_INT(resolve_memory_get(&m, "h2", "22", &ss, &len), 0);
	CHECK_INT(resolve_memory_get(&m, "new", "22", &ss, &len), 0);
	CHECK_STR(ip_of(&ss, buf, sizeof buf), "10.0.0.2");

	/* What does not fit is not remembered (and nothing overflows). */
	memset(host, 'x', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	{
		char big[400];

		memset(big, 'y', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		resolve_memory_put(&m, big, "22", (struct sockaddr *)&a, sizeof a);
		CHECK_INT(resolve_memory_get(&m, big, "22", &ss, &len), -1);
	}
	resolve_memory_put(&m, host, "22", (struct sockaddr *)&a, 0);
	CHECK_INT(resolve_memory_get(&m, host, "22", &ss, &len), -1);
}

struct answer {
	int calls;
	int n; /* addresses */
	int has_v4_loop;
	char err[256];
};

static void
on_answer(struct addrinfo *res, const char *error, void *arg)
{
	struct answer *a = arg;

	a->calls++;
	snprintf(a->err, sizeof a->err, "%s", error != NULL ? error : "");
	for (struct addrinfo *p = res; p != NULL; p = p->ai_next) {
		a->n++;
		if (p->ai_family == AF_INET &&
		    ((struct sockaddr_in *)(void *)p->ai_addr)->sin_addr.s_addr ==
		        htonl(INADDR_LOOPBACK) &&
		    ntohs(((struct sockaddr_in *)(void *)p->ai_addr)->sin_port) == 2222)
			a->has_v4_loop = 1;
	}
	if (res != NULL)
		freeaddrinfo(res);
}

static void
stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until a.calls or 5 s. */
static void
wait_answer(struct ev_loop *loop, struct answer *a)
{
	ev_timer t;

	ev_timer_init(&t, stop_cb, 5., 0.);
	ev_timer_start(loop, &t);
	while (a->calls == 0 && ev_run(loop, EVRUN_ONCE))
		;
	ev_timer_stop(loop, &t);
}

static int
count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
wait_threads(void)
{
	for (int i = 0; i < 500 && resolve_pending() > 0; i++)
		usleep(10000);
}

static void
test_lookup(void)
{
	struct ev_loop *loop;
	struct answer a;
	int before;

	wait_threads();
	before = count_fds();
	loop = ev_loop_new(EVFLAG_AUTO);
	/* numeric: answered from the loop, never inside resolve_start, no thread */
	memset(&a, 0, sizeof a);
	resolve_start(loop, "127.0.0.1", "2222", on_answer, &a);
	CHECK_INT(a.calls, 0);
	CHECK_INT(resolve_pending(), 0);
	wait_answer(loop, &a);
	CHECK_INT(a.calls, 1);
	CHECK_INT(a.n, 1);
	CHECK(a.has_v4_loop);
	CHECK_STR(a.err, "");

	/* a name (from /etc/hosts): a thread, answered through the loop */
	memset(&a, 0, sizeof a);
	resolve_start(loop, "localhost", "2222", on_answer, &a);
	CHECK_INT(a.calls, 0);
	wait_answer(loop, &a);
	CHECK_INT(a.calls, 1);
	CHECK(a.has_v4_loop);
	CHECK_STR(a.err, "");

	/* --family: inet keeps an IPv4 address; inet6 finds none in it and says which
	 * family it looked for; "::1" under inet likewise */
	memset(&a, 0, sizeof a);
	resolve_start_family(loop, "127.0.0.1", "2222", RESOLVE_INET, on_answer, &a);
	wait_answer(loop, &a);
	CHECK_INT(a.calls, 1);
	CHECK(a.has_v4_loop);
	CHECK_STR(a.err, "");
	memset(&a, 0, sizeof a);
	resolve_start_family(loop, "127.0.0.1", "2222", RESOLVE_INET6, on_answer, &a);
	wait_answer(loop, &a);
	CHECK_INT(a.calls, 1);
	CHECK_INT(a.n, 0);
	CHECK_HAS(a.err, "(IPv6 only: --family inet6)");
	memset(&a, 0, sizeof a);
	resolve_start_family(loop, "::1", "2222", RESOLVE_INET, on_answer, &a);
	wait_answer(loop, &a);
	CHECK_INT(a.n, 0);
	CHECK_HAS(a.err, "(IPv4 only: --family inet)");
	memset(&a, 0, sizeof a);
	resolve_start_family(loop, "127.0.0.1", "2222", RESOLVE_AUTO, on_answer, &a);
	wait_answer(loop, &a);
	CHECK_INT(a.n, 1);
	CHECK_STR(a.err, "");

	/* a name that does not exist, only where the lookup cannot leave the machine */
	if (getenv("MOSHMAN_NET_ISOLATED") != NULL) {
		memset(&a, 0, sizeof a);
		resolve_start(loop, "nohost.invalid", "22", on_answer, &a);
		wait_answer(loop, &a);
		CHECK_INT(a.calls, 1);
		CHECK_INT(a.n, 0);
		CHECK(a.err[0] != '\0');
	}

	/* cancelled: no answer ever, and the thread cleans up after itself */
	memset(&a, 0, sizeof a);
	resolve_cancel(resolve_start(loop, "localhost", "22", on_answer, &a));
	resolve_cancel(resolve_start(loop, "127.0.0.1", "22", on_answer, &a));
	resolve_cancel(NULL);
	{
		ev_timer t;

		ev_timer_init(&t, stop_cb, 0.3, 0.);
		ev_timer_start(loop, &t);
		ev_run(loop, 0);
	}
	CHECK_INT(a.calls, 0);
	wait_threads();
	CHECK_INT(resolve_pending(), 0);
	ev_loop_destroy(loop);
	CHECK_INT(count_fds(), before);
}

int
main(void)
{
	UNIT_BEGIN("test_resolve");
	RUN(test_memory);
	RUN(test_lookup);
	UNIT_END();
}

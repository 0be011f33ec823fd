/* SPDX-License-Identifier: MIT */
/* The one UDP socket helper (src/link/udpsock.c): numeric addresses, the peer check, and
 * which send errors mean "the network moved: rebuild". */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include "src/link/udpsock.h"

static void
test_resolve(void)
{
	struct udpsock_addr a;
	char err[128];

	CHECK_INT(udpsock_resolve("10.1.2.3", 60001, 0, &a, err, sizeof err), 0);
	CHECK_INT(a.ss.ss_family, AF_INET);
	CHECK_INT(a.len, sizeof(struct sockaddr_in));
	CHECK_INT(ntohs(((struct sockaddr_in *)(void *)&a.ss)->sin_port), 60001);
	CHECK_INT(udpsock_resolve("2001:db8::7", 9, 0, &a, err, sizeof err), 0);
	CHECK_INT(a.ss.ss_family, AF_INET6);
	/* Names are never looked up here (that would block the loop). */
	CHECK_INT(udpsock_resolve("localhost", 9, 0, &a, err, sizeof err), -1);
	CHECK_HAS(err, "bad address localhost");
	CHECK_INT(udpsock_resolve("10.1.2.3.4", 9, 0, &a, err, sizeof err), -1);
	CHECK_INT(udpsock_resolve("", 9, 0, &a, err, sizeof err), -1);
}

static void
test_same(void)
{
	struct udpsock_addr a, b, c;
	char err[128];

	udpsock_resolve("10.1.2.3", 60001, 0, &a, err, sizeof err);
	udpsock_resolve("10.1.2.3", 60002, 0, &b, err, sizeof err);
	udpsock_resolve("10.1.2.4", 60001, 0, &c, err, sizeof err);
	CHECK(udpsock_same(&a, (struct sockaddr *)&a.ss, a.len));
	CHECK(!udpsock_same(&a, (struct sockaddr *)&b.ss, b.len)); /* another port */
	CHECK(!udpsock_same(&a, (struct sockaddr *)&c.ss, c.len)); /* another host */
	CHECK(!udpsock_same(&a, (struct sockaddr *)&a.ss, 4));     /* truncated */
	CHECK(!udpsock_same(&a, NULL, 0));
	udpsock_resolve("::ffff:10.1.2.3", 60001, 0, &b, err, sizeof err);
	CHECK(!udpsock_same(&a, (struct sockaddr *)&b.ss, b.len)); /* another family */
	udpsock_resolve("2001:db8::7", 9, 0, &b, err, sizeof err);
	udpsock_resolve("2001:db8::7", 9, 0, &c, err, sizeof err);
	CHECK(udpsock_same(&b, (struct sockaddr *)&c.ss, c.len));
}

static void
test_rebuild_errno(void)
{
	CHECK(udpsock_rebuild_errno(ENETUNREACH));
	CHECK(udpsock_rebuild_errno(EADDRNOTAVAIL));
	CHECK(udpsock_rebuild_errno(EINVAL));
	CHECK(udpsock_rebuild_errno(ENETDOWN));
	CHECK(udpsock_rebuild_errno(EHOSTUNREACH));
	/* The peer's answers, not the network under us: a new socket would not help. */
	CHECK(!udpsock_rebuild_errno(ECONNREFUSED));
	CHECK(!udpsock_rebuild_errno(EAGAIN));
	CHECK(!udpsock_rebuild_errno(EMSGSIZE));
}

static void
test_open_bound(void)
{
	struct udpsock_addr a;
	char err[128];
	int fd;

	CHECK_INT(udpsock_resolve("127.0.0.1", 0, 1, &a, err, sizeof err), 0);
	fd = udpsock_open(&a, 1, err, sizeof err);
	CHECK(fd >= 0);
	CHECK(udpsock_local_port(fd) > 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(udpsock_local_port(-1), -1);
}

int
main(void)
{
	UNIT_BEGIN("test_udpsock");
	RUN(test_resolve);
	RUN(test_same);
	RUN(test_rebuild_errno);
	RUN(test_open_bound);
	UNIT_END();
}

/* SPDX-License-Identifier: MIT */
/* Network-change decisions (src/link/netwatch.c): given rtnetlink messages and source
 * addresses, which changes touch the session's route and which ones to act on. */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "src/link/netwatch.h"

static union {
	struct nlmsghdr h;
	char b[4096];
} buf;
static size_t used;

static void
put_attr(struct nlmsghdr *h, int type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)(void *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static struct nlmsghdr *
next_msg(int type)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(buf.b + used);

	memset(h, 0, 512);
	h->nlmsg_type = (unsigned short)type;
	return h;
}

static void
done_msg(struct nlmsghdr *h)
{
	used += NLMSG_ALIGN(h->nlmsg_len);
}

static void
add_addr(int type, int family, const char *addr, int plen, int scope)
{
	struct nlmsghdr *h = next_msg(type);
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	unsigned char a[16];

	h->nlmsg_len = NLMSG_LENGTH(sizeof *ifa);
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_scope = (unsigned char)scope;
	inet_pton(family, addr, a);
	put_attr(h, IFA_ADDRESS, a, family == AF_INET ? 4 : 16);
	put_attr(h, IFA_LOCAL, a, family == AF_INET ? 4 : 16);
	done_msg(h);
}

static void
add_route(int type, int family, const char *dst, int plen, int table, int rtype)
{
	struct nlmsghdr *h = next_msg(type);
	struct rtmsg *rt = NLMSG_DATA(h);
	unsigned char a[16];
	unsigned int t = (unsigned int)table;

	h->nlmsg_len = NLMSG_LENGTH(sizeof *rt);
	rt->rtm_family = (unsigned char)family;
	rt->rtm_dst_len = (unsigned char)plen;
	rt->rtm_table = (unsigned char)(table < 256 ? table : RT_TABLE_UNSPEC);
	rt->rtm_type = (unsigned char)rtype;
	put_attr(h, RTA_TABLE, &t, 4);
	if (dst != NULL) {
		inet_pton(family, dst, a);
		put_attr(h, RTA_DST, a, family == AF_INET ? 4 : 16);
	}
	done_msg(h);
}

static struct udpsock_addr
peer(const char *a)
{
	struct udpsock_addr p;
	char err[64];

	if (udpsock_resolve(a, 60001, 0, &p, err, sizeof err) == -1)
		CHECK(!"resolve");
	return p;
}

static struct netwatch_src
src(const char *a)
{
	struct netwatch_src s;

	memset(&s, 0, sizeof s);
	if (a != NULL) {
		s.have = 1;
		s.addr = peer(a);
		((struct sockaddr_in *)(void *)&s.addr.ss)->sin_port = 0;
		if (s.addr.ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)(void *)&s.addr.ss)->sin6_port = 0;
	}
	return s;
}

static void
test_parse_address_and_routes(void)
{
	struct netwatch_msg m[8];
	char text[64];

	used = 0;
	add_addr(RTM_DELADDR, AF_INET, "10.1.2.1", 24, RT_SCOPE_UNIVERSE);
	add_addr(RTM_NEWADDR, AF_INET, "10.1.2.10", 24, RT_SCOPE_UNIVERSE);
	add_route(RTM_NEWROUTE, AF_INET, "10.1.2.0", 24, RT_TABLE_MAIN, RTN_UNICAST);
	add_route(RTM_DELROUTE, AF_INET6, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST);
	CHECK_INT(netwatch_parse(buf.b, used, m, 8), 4);
	CHECK_INT(m[0].kind, NETWATCH_ADDR);
	CHECK_INT(m[0].added, 0);
	CHECK_INT(m[1].added, 1);
	inet_ntop(AF_INET, m[1].addr, text, sizeof text);
	CHECK_STR(text, "10.1.2.10");
	CHECK_INT(m[2].kind, NETWATCH_ROUTE);
	CHECK_INT(m[2].prefixlen, 24);
	CHECK_INT(m[2].table, RT_TABLE_MAIN);
	CHECK_INT(m[3].family, AF_INET6);
	CHECK_INT(m[3].prefixlen, 0);
	/* max is respected */
	CHECK_INT(netwatch_parse(buf.b, used, m, 2), 2);
}

static void
test_parse_rejects_bad_lengths(void)
{
	struct netwatch_msg m[4];

	used = 0;
	add_addr(RTM_NEWADDR, AF_INET, "10.1.2.10", 24, RT_SCOPE_UNIVERSE);
	CHECK_INT(netwatch_parse(buf.b, used - 1, m, 4), -1);
	buf.h.nlmsg_len = 4;
	CHECK_INT(netwatch_parse(buf.b, used, m, 4), -1);
	CHECK_INT(netwatch_parse(buf.b, 3, m, 4), -1);
	CHECK_INT(netwatch_parse(buf.b, 0, m, 4), 0);
	/* An address message too short for its header. */
	used = 0;
	{
		struct nlmsghdr *h = next_msg(RTM_NEWADDR);

		h->nlmsg_len = NLMSG_LENGTH(2);
		done_msg(h);
	}
	CHECK_INT(netwatch_parse(buf.b, used, m, 4), -1);
}

static void
test_parse_overrun_and_other_types(void)
{
	struct netwatch_msg m[4];
	struct nlmsghdr *h;

	used = 0;
	h = next_msg(RTM_NEWLINK);
	h->nlmsg_len = NLMSG_LENGTH(16);
	done_msg(h);
	h = next_msg(NLMSG_ERROR);
	h->nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
	done_msg(h);
	CHECK_INT(netwatch_parse(buf.b, used, m, 4), 1);
	CHECK_INT(m[0].kind, NETWATCH_OVERRUN);
	CHECK(netwatch_touches(&m[0], NULL));
}

static void
test_touches(void)
{
	struct netwatch_msg m[8];
	struct udpsock_addr p = peer("10.1.2.2"), p6 = peer("2001:db8::2");

	used = 0;
	add_addr(RTM_NEWADDR, AF_INET, "192.168.7.5", 24, RT_SCOPE_UNIVERSE);         /* 0 */
	add_addr(RTM_NEWADDR, AF_INET, "127.0.0.2", 8, RT_SCOPE_HOST);                /* 1 */
	add_route(RTM_NEWROUTE, AF_INET, NULL, 0, RT_TABLE_MAIN, RTN_UNICAST);        /* 2 */
	add_route(RTM_NEWROUTE, AF_INET, "10.1.2.2", 32, RT_TABLE_MAIN, RTN_UNICAST); /* 3 */
	add_route(RTM_NEWROUTE, AF_INET, "10.1.3.0", 24, RT_TABLE_MAIN, RTN_UNICAST); /* 4 */
	add_route(RTM_NEWROUTE, AF_INET, "10.1.2.1", 32, RT_TABLE_LOCAL, RTN_LOCAL);  /* 5 */
	add_route(RTM_NEWROUTE, AF_INET, "10.1.0.0", 20, RT_TABLE_MAIN, RTN_UNICAST); /* 6 */
	add_addr(RTM_DELADDR, AF_INET6, "2001:db8::1", 64, RT_SCOPE_UNIVERSE);        /* 7 */
	CHECK_INT(netwatch_parse(buf.b, used, m, 8), 8);
	CHECK(netwatch_touches(&m[0], &p));  /* a new address may be the new source */
	CHECK(!netwatch_touches(&m[1], &p)); /* loopback */
	CHECK(netwatch_touches(&m[2], &p));  /* the default route covers everything */
	CHECK(netwatch_touches(&m[3], &p));  /* a host route to the peer */
	CHECK(!netwatch_touches(&m[4], &p)); /* another subnet */
	CHECK(!netwatch_touches(&m[5], &p)); /* the local table */
	CHECK(netwatch_touches(&m[6], &p));  /* 10.1.0.0/20 covers 10.1.2.2 */
	CHECK(!netwatch_touches(&m[7], &p)); /* IPv6 news for an IPv4 peer */
	CHECK(netwatch_touches(&m[7], &p6));
	CHECK(!netwatch_touches(&m[2], &p6));
	CHECK(netwatch_touches(&m[4], NULL)); /* no peer: every non-local change */
	CHECK(!netwatch_touches(&m[5], NULL));
}

static void
test_judge(void)
{
	struct netwatch_src a = src("10.1.2.1"), a2 = src("10.1.2.1"), b = src("10.1.2.10"),
	                    none = src(NULL), v6 = src("2001:db8::1");
	char text[64];

	CHECK_INT(netwatch_judge(&a, &a2), NETWATCH_SAME);      /* e.g. a new gateway */
	CHECK_INT(netwatch_judge(&a, &b), NETWATCH_CHANGED);    /* roam, uplink switch */
	CHECK_INT(netwatch_judge(&a, &none), NETWATCH_LOST);    /* old address deleted */
	CHECK_INT(netwatch_judge(&none, &b), NETWATCH_CHANGED); /* new one added */
	CHECK_INT(netwatch_judge(&none, &none), NETWATCH_LOST);
	CHECK_INT(netwatch_judge(&a, &v6), NETWATCH_CHANGED);
	netwatch_src_text(&b, text, sizeof text);
	CHECK_STR(text, "10.1.2.10");
	netwatch_src_text(&none, text, sizeof text);
	CHECK_STR(text, "none");
	netwatch_src_text(&v6, text, sizeof text);
	CHECK_STR(text, "2001:db8::1");
}

static void
test_source_of_loopback(void)
{
	struct udpsock_addr p = peer("127.0.0.1");
	struct netwatch_src s;
	char text[64];

	netwatch_source(&p, &s);
	CHECK_INT(s.have, 1);
	netwatch_src_text(&s, text, sizeof text);
	CHECK_STR(text, "127.0.0.1");
}

int
main(void)
{
	UNIT_BEGIN("test_netwatch");
	RUN(test_parse_address_and_routes);
	RUN(test_parse_rejects_bad_lengths);
	RUN(test_parse_overrun_and_other_types);
	RUN(test_touches);
	RUN(test_judge);
	RUN(test_source_of_loopback);
	UNIT_END();
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the rtnetlink parser (src/link/netwatch.c): whatever the kernel
 * (or anyone able to send to a netlink socket) hands over, parsing must not read past
 * the buffer, and every message it returns must be usable by netwatch_touches(). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/link/netwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union {
		uint32_t align;
		unsigned char b[65536];
	} buf;
	struct netwatch_msg m[64];
	struct udpsock_addr p4, p6;
	char err[64];
	int n;

	if (size > sizeof buf.b)
		return 0;
	memcpy(buf.b, data, size);
	n = netwatch_parse(buf.b, size, m, 64);
	if (n < -1 || n > 64)
		abort();
	if (udpsock_resolve("10.1.2.2", 1, 0, &p4, err, sizeof err) == -1 ||
	    udpsock_resolve("2001:db8::2", 1, 0, &p6, err, sizeof err) == -1)
		abort();
	for (int i = 0; i < n; i++) {
		if (m[i].kind != NETWATCH_OVERRUN && m[i].family != AF_INET &&
		    m[i].family != AF_INET6)
			abort();
		(void)netwatch_touches(&m[i], &p4);
		(void)netwatch_touches(&m[i], &p6);
		(void)netwatch_touches(&m[i], NULL);
	}
	return 0;
}

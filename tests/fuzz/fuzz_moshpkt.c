/* SPDX-License-Identifier: MIT */
/* libFuzzer target for opening mosh datagrams (src/link/moshpkt.c): any bytes from the
 * network or a local sender must fail cleanly or open; byte 0 picks whether the input
 * is taken as is or sealed first (so the fuzzer also explores authentic datagrams,
 * which must open to what was sealed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/link/moshpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct moshpkt_key *k;
	unsigned char b[MOSHPKT_MAX];
	struct moshpkt p, q;
	size_t n;

	if (k == NULL && (k = moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSxA")) == NULL)
		abort();
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		(void)moshpkt_open(k, data + 1, size - 1, &p);
		return 0;
	}
	if (size < 8)
		return 0;
	memset(&p, 0, sizeof p);
	p.seq = (uint64_t)data[1] << 40 | data[2];
	p.to_client = data[3] & 1;
	p.timestamp = (uint16_t)(data[4] << 8 | data[5]);
	p.reply = (uint16_t)(data[6] << 8 | data[7]);
	n = moshpkt_seal(k, &p, data + 8, size - 8, b, sizeof b);
	if (n == 0)
		return 0;
	if (moshpkt_open(k, b, n, &q) != 0 || q.seq != p.seq || q.to_client != p.to_client ||
	    q.timestamp != p.timestamp || q.reply != p.reply)
		abort();
	b[n - 1] ^= 0x80;
	if (moshpkt_open(k, b, n, &q) == 0)
		abort();
	return 0;
}

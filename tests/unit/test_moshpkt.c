/* SPDX-License-Identifier: MIT */
/* mosh's datagrams under the session key (src/link/moshpkt.c): datagrams captured from
 * the real mosh 1.4.0 open, with the timestamps mosh put in them; anything else fails. */
#include "tests/unit/unit.h"

#include "src/link/moshpkt.h"

struct cap {
	char dir[4];
	int at;
	unsigned char b[MOSHPKT_MAX];
	size_t len;
};

static char key[64];
static struct cap caps[8];
static int ncaps;

static void
load(void)
{
	char *text = unit_fixture("moshpkt", "loopback.txt"), *line, *save = NULL;
	char hex[2 * MOSHPKT_MAX + 1];

	ncaps = 0;
	key[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (key[0] == '\0') {
			snprintf(key, sizeof key, "%s", line);
			continue;
		}
		if (ncaps < 8 &&
		    sscanf(line, "%3s %d %4096s", caps[ncaps].dir, &caps[ncaps].at, hex) == 3) {
			size_t n = strlen(hex) / 2;

			for (size_t i = 0; i < n; i++) {
				unsigned v;

				sscanf(hex + 2 * i, "%2x", &v);
				caps[ncaps].b[i] = (unsigned char)v;
			}
			caps[ncaps].len = n;
			ncaps++;
		}
	}
	free(text);
}

static void
test_real_mosh_datagrams_open(void)
{
	struct moshpkt_key *k;
	struct moshpkt p;
	uint64_t seq[2] = { 0, 0 };

	load();
	CHECK_INT(ncaps, 5);
	k = moshpkt_key_new(key);
	CHECK(k != NULL);
	if (k == NULL)
		return;
	for (int i = 0; i < ncaps; i++) {
		int s2c = strcmp(caps[i].dir, "s2c") == 0;

		CHECK_INT(moshpkt_open(k, caps[i].b, caps[i].len, &p), 0);
		CHECK_INT(p.to_client, s2c);
		CHECK_INT(p.seq, seq[s2c]++);
		if (!s2c) {
			/* The client's timestamp is its monotonic clock, which the forwarder
			 * shares: at most a few ms before the datagram arrived there. */
			CHECK(((caps[i].at - p.timestamp) & 0xFFFF) < 50);
		}
	}
	/* The server's first datagram answers the client's first: a real round trip. */
	CHECK(moshpkt_open(k, caps[1].b, caps[1].len, &p) == 0);
	CHECK(p.reply != MOSHPKT_NO_REPLY);
	CHECK(moshpkt_rtt(p.reply, caps[1].at) >= 0);
	CHECK(moshpkt_rtt(p.reply, caps[1].at) < 100);
	/* The client's first datagram had nothing to answer yet. */
	CHECK(moshpkt_open(k, caps[0].b, caps[0].len, &p) == 0);
	CHECK_INT(p.reply, MOSHPKT_NO_REPLY);
	moshpkt_key_free(k);
}

static void
test_forgeries_fail(void)
{
	struct moshpkt_key *k, *other;
	struct moshpkt p;
	unsigned char b[MOSHPKT_MAX];

	load();
	k = moshpkt_key_new(key);
	other = moshpkt_key_new("AAAAAAAAAAAAAAAAAAAAAA");
	CHECK(k != NULL && other != NULL);
	if (k == NULL || other == NULL)
		return;
	CHECK_INT(moshpkt_open(other, caps[0].b, caps[0].len, &p), -1);
	for (size_t i = 0; i < caps[0].len; i += 7) {
		memcpy(b, caps[0].b, caps[0].len);
		b[i] ^= 0x01; /* the nonce, the ciphertext or the tag */
		CHECK_INT(moshpkt_open(k, b, caps[0].len, &p), -1);
	}
	CHECK_INT(moshpkt_open(k, caps[0].b, caps[0].len - 1, &p), -1);
	CHECK_INT(moshpkt_open(k, caps[0].b, MOSHPKT_MIN - 1, &p), -1);
	CHECK_INT(moshpkt_open(k, "x", 1, &p), -1);
	CHECK_INT(moshpkt_open(NULL, caps[0].b, caps[0].len, &p), -1);
	/* A small foreign datagram (what a flooding local user sends). */
	memset(b, 'A', 64);
	CHECK_INT(moshpkt_open(k, b, 64, &p), -1);
	moshpkt_key_free(k);
	moshpkt_key_free(other);
}

static void
test_bad_keys(void)
{
	CHECK(moshpkt_key_new(NULL) == NULL);
	CHECK(moshpkt_key_new("") == NULL);
	CHECK(moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSx") == NULL);   /* 21 */
	CHECK(moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSxAA") == NULL); /* 23 */
	CHECK(moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSx=") == NULL);
	CHECK(moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSxB") == NULL); /* stray low bits */
}

static void
test_seal_round_trip(void)
{
	struct moshpkt_key *k = moshpkt_key_new("Qv/oLnTX2U7ul0nyyMCSxA");
	struct moshpkt in = { 41, 1, 65530, 12 }, out;
	unsigned char b[MOSHPKT_MAX];
	size_t n;

	CHECK(k != NULL);
	if (k == NULL)
		return;
	n = moshpkt_seal(k, &in, "hello", 5, b, sizeof b);
	CHECK_INT(n, MOSHPKT_NONCE + 4 + 5 + MOSHPKT_TAG);
	CHECK_INT(moshpkt_open(k, b, n, &out), 0);
	CHECK_INT(out.seq, 41);
	CHECK_INT(out.to_client, 1);
	CHECK_INT(out.timestamp, 65530);
	CHECK_INT(out.reply, 12);
	CHECK_INT(moshpkt_seal(k, &in, "hello", 5, b, 20), 0);
	moshpkt_key_free(k);
}

static void
test_rtt_wraps(void)
{
	CHECK_INT(moshpkt_rtt(MOSHPKT_NO_REPLY, 1000), -1);
	CHECK_INT(moshpkt_rtt(1000, 1040), 40);
	CHECK_INT(moshpkt_rtt(65530, 65536 + 10), 16);
	CHECK_INT(moshpkt_rtt(100, 3 * 65536 + 150), 50);
}

int
main(void)
{
	UNIT_BEGIN("test_moshpkt");
	RUN(test_real_mosh_datagrams_open);
	RUN(test_forgeries_fail);
	RUN(test_bad_keys);
	RUN(test_seal_round_trip);
	RUN(test_rtt_wraps);
	UNIT_END();
}

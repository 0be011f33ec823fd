/* SPDX-License-Identifier: MIT */
/* The attach layer's pure parts: the keyboard filter (src/session/attachkey.c) and the
 * socket's message codec (src/session/attachproto.c). */
#include "tests/unit/unit.h"

#include <stdint.h>

#include "src/session/attachkey.h"
#include "src/session/attachproto.h"

/* Feeds s in chunks of `chunk` bytes; collects what reaches mosh-client in out and
 * returns how many input bytes were read up to a detach (-1: no detach). */
static long
run(unsigned char detach, const char *s, size_t len, size_t chunk, char *out, size_t *olen)
{
	struct attachkey k;
	unsigned char buf[128];
	size_t at = 0, used, n, o;
	int det;

	attachkey_init(&k, detach);
	*olen = 0;
	while (at < len) {
		n = len - at < chunk ? len - at : chunk;
		o = attachkey_feed(&k, (const unsigned char *)s + at, n, buf, &used, &det);
		memcpy(out + *olen, buf, o);
		*olen += o;
		at += used;
		if (det)
			return (long)at;
	}
	return -1;
}

static void
test_key_plain_bytes_pass(void)
{
	char out[128];
	size_t olen;
	const char in[] = "echo $$\r\x03\x1b[A";

	for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
		CHECK_INT(run('d', in, sizeof in - 1, chunk, out, &olen), -1);
		CHECK_INT(olen, sizeof in - 1);
		CHECK(memcmp(out, in, sizeof in - 1) == 0);
	}
}

static void
test_key_detach(void)
{
	char out[128];
	size_t olen;
	const char in[] = "ls\x1e"
	                  "dMORE";

	/* Split anywhere, even between Ctrl-^ and d. */
	for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
		CHECK_INT(run('d', in, sizeof in - 1, chunk, out, &olen), 4);
		CHECK_INT(olen, 2);
		CHECK(memcmp(out, "ls", 2) == 0);
	}
}

/* mosh-client's own sequences arrive unchanged, whatever the read boundaries. */
static void
test_key_mosh_sequences_pass(void)
{
	static const char *const seqs[] = {
		"\x1e.",    /* quit */
		"\x1e\x1a", /* suspend */
		"\x1e\x1e", /* a literal Ctrl-^ */
		"\x1e^",    /* also a literal Ctrl-^ */
		"\x1ex",    /* anything else: both bytes */
		"\x1e\x1e"
		"d", /* Ctrl-^ Ctrl-^ then d: mosh typed Ctrl-^, d is plain */
		"a\x1e.b\x1e\x1a"
		"c\x1e^\x1eq",
	};
	char out[128];
	size_t olen;

	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		size_t len = strlen(seqs[i]);

		for (size_t chunk = 1; chunk <= len; chunk++) {
			CHECK_INT(run('d', seqs[i], len, chunk, out, &olen), -1);
			CHECK_INT(olen, len);
			CHECK(memcmp(out, seqs[i], len) == 0);
		}
	}
}

static void
test_key_held_escape_waits(void)
{
	struct attachkey k;
	unsigned char out[8];
	size_t used;
	int det;

	attachkey_init(&k, 'd');
	CHECK_INT(attachkey_feed(&k, (const unsigned char *)"\x1e", 1, out, &used, &det), 0);
	CHECK_INT(det, 0);
	CHECK_INT(used, 1);
	/* The follower releases both, in order, and uses the n + 1 bytes of room. */
	CHECK_INT(attachkey_feed(&k, (const unsigned char *)".", 1, out, &used, &det), 2);
	CHECK(out[0] == 0x1e && out[1] == '.');
}

static void
test_key_other_detach_key(void)
{
	char out[128], err[200];
	size_t olen;
	unsigned char key;

	CHECK_INT(attachkey_parse("x", &key, err, sizeof err), 0);
	CHECK_INT(key, 'x');
	/* With x as the key, Ctrl-^ d is mosh-client's again. */
	CHECK_INT(run(key,
	              "\x1e"
	              "d",
	              2, 1, out, &olen),
	    -1);
	CHECK_INT(olen, 2);
	CHECK_INT(run(key, "z\x1ex", 3, 2, out, &olen), 3);
	CHECK_INT(olen, 1);
	CHECK_INT(attachkey_parse("^D", &key, err, sizeof err), 0);
	CHECK_INT(key, 4);
	CHECK_INT(attachkey_parse("^d", &key, err, sizeof err), 0);
	CHECK_INT(key, 4);
	CHECK_INT(run(key, "\x1e\x04", 2, 1, out, &olen), 2);
	CHECK_INT(attachkey_parse("^]", &key, err, sizeof err), 0);
	CHECK_INT(key, 0x1d);
}

static void
test_key_parse_refuses(void)
{
	static const char *const bad[] = { "", ".", "^", "^^", "^Z", "^z", "dd", " ", "^1", "\x7f",
		"\xc3\xa9", "^" };
	char err[200];
	unsigned char key = 0;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		CHECK_INT(attachkey_parse(bad[i], &key, err, sizeof err), -1);
		CHECK(err[0] != '\0');
	}
	CHECK_INT(attachkey_parse(NULL, &key, err, sizeof err), -1);
	CHECK_INT(attachkey_parse(".", &key, err, sizeof err), -1);
	CHECK_HAS(err, "mosh-client's own");
}

static void
test_key_name(void)
{
	char buf[32];

	CHECK_STR(attachkey_name('d', buf, sizeof buf), "Ctrl-^ d");
	CHECK_STR(attachkey_name(4, buf, sizeof buf), "Ctrl-^ Ctrl-D");
}

/* ---- the codec ---------------------------------------------------------------------- */

static long
parse(enum attachproto_peer peer, const uint8_t *b, size_t n, struct attachproto_msg *m, char *err)
{
	err[0] = '\0';
	return attachproto_parse(peer, b, n, m, err, 200);
}

static void
test_proto_roundtrip(void)
{
	uint8_t b[ATTACHPROTO_MSG_MAX], big[ATTACHPROTO_DATA_MAX];
	struct attachproto_msg m;
	char err[200];
	size_t n;

	n = attachproto_hello(b, sizeof b, 24, 80);
	CHECK_INT(n, 8);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), 8);
	CHECK_INT(m.type, ATTACHPROTO_HELLO);
	CHECK_INT(m.rows, 24);
	CHECK_INT(m.cols, 80);
	CHECK_INT(m.version, ATTACHPROTO_VERSION);

	n = attachproto_resize(b, sizeof b, 4096, 1);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), 7);
	CHECK_INT(m.type, ATTACHPROTO_RESIZE);
	CHECK_INT(m.rows, 4096);
	CHECK_INT(m.cols, 1);

	n = attachproto_detach(b, sizeof b);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), 3);
	CHECK_INT(m.type, ATTACHPROTO_DETACH);

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	n = attachproto_data(b, sizeof b, big, sizeof big);
	CHECK_INT(n, ATTACHPROTO_MSG_MAX);
	CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, n, &m, err), (long)n);
	CHECK_INT(m.type, ATTACHPROTO_DATA);
	CHECK_INT(m.len, sizeof big);
	CHECK(memcmp(m.data, big, sizeof big) == 0);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), (long)n);

	n = attachproto_welcome(b, sizeof b, 0x123456789aLL, "lab-b");
	CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, n, &m, err), (long)n);
	CHECK_INT(m.type, ATTACHPROTO_WELCOME);
	CHECK_INT(m.session_id, 0x123456789aLL);
	CHECK_STR(m.text, "lab-b");

	n = attachproto_takeover(b, sizeof b, "attached from another terminal\x1b[2J");
	CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, n, &m, err), (long)n);
	CHECK_INT(m.type, ATTACHPROTO_TAKEOVER);
	CHECK_STR(m.text, "attached from another terminal?[2J");

	n = attachproto_detached(b, sizeof b, "mosh-client was suspended");
	CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, n, &m, err), (long)n);
	CHECK_INT(m.type, ATTACHPROTO_DETACHED);
	CHECK_STR(m.text, "mosh-client was suspended");
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), -1);
	CHECK_HAS(err, "from a terminal");

	n = attachproto_exit(b, sizeof b, 130, "mosh-client killed by signal 2");
	CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, n, &m, err), (long)n);
	CHECK_INT(m.type, ATTACHPROTO_EXIT);
	CHECK_INT(m.status, 130);
	CHECK_STR(m.text, "mosh-client killed by signal 2");
}

static void
test_proto_encode_limits(void)
{
	uint8_t b[ATTACHPROTO_MSG_MAX + 8], big[ATTACHPROTO_DATA_MAX + 1];

	memset(big, 'x', sizeof big);
	CHECK_INT(attachproto_data(b, sizeof b, big, sizeof big), 0);
	CHECK_INT(attachproto_data(b, sizeof b, big, 0), 0);
	CHECK_INT(attachproto_data(b, 10, big, 8), 0);
	CHECK_INT(attachproto_hello(b, sizeof b, 0, 80), 0);
	CHECK_INT(attachproto_resize(b, sizeof b, 24, 4097), 0);
	CHECK_INT(attachproto_exit(b, sizeof b, 256, "x"), 0);
	CHECK_INT(attachproto_welcome(b, sizeof b, 0, "x"), 0);
}

static void
test_proto_partial(void)
{
	uint8_t b[64];
	struct attachproto_msg m;
	char err[200];
	size_t n = attachproto_data(b, sizeof b, "hello", 5);

	n += attachproto_resize(b + n, sizeof b - n, 30, 100);
	for (size_t i = 0; i < 8; i++)
		CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, i, &m, err), 0);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b, n, &m, err), 8);
	CHECK_INT(parse(ATTACHPROTO_FROM_TERMINAL, b + 8, n - 8, &m, err), 7);
	CHECK_INT(m.rows, 30);
}

static void
test_proto_hostile(void)
{
	struct {
		enum attachproto_peer peer;
		const char *bytes;
		size_t len;
		const char *why;
	} cases[] = {
		{ ATTACHPROTO_FROM_TERMINAL, "\x09\x00\x00", 3, "unknown message type 9" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x08\x00\x01\x07", 4, "DETACHED with unprintable" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x00", 1, "unknown message type 0" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x06\x00\x00", 3, "from a terminal" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x03\x00\x04\x00\x18\x00\x50", 7,
		    "from the supervisor" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x02\x40\x01", 3, "limit is 16384" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x02\xff\xff", 3, "limit is 16384" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x02\x00\x00", 3, "empty DATA" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x01\x00\x04\x01\x00\x18\x00", 7, "5 expected" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x01\x00\x05\x02\x00\x18\x00\x50", 8, "version 2" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x01\x00\x05\x01\x00\x00\x00\x50", 8,
		    "out of range" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x03\x00\x04\x10\x01\x00\x50", 7, "out of range" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x03\x00\x05\x00\x18\x00\x50\x00", 8, "4 expected" },
		{ ATTACHPROTO_FROM_TERMINAL, "\x04\x00\x01x", 4, "0 expected" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x06\x00\x02x\n", 5, "unprintable" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x06\x00\x01\x1b", 4, "unprintable" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x07\x00\x00", 3, "without a status" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x05\x00\x07\x00\x00\x00\x00\x00\x00\x01", 10,
		    "8 or more" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x05\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00", 11,
		    "no session" },
		{ ATTACHPROTO_FROM_SUPERVISOR, "\x05\x00\x08\x80\x00\x00\x00\x00\x00\x00\x01", 11,
		    "no session" },
	};
	struct attachproto_msg m;
	char err[200];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_INT(parse(cases[i].peer, (const uint8_t *)cases[i].bytes, cases[i].len, &m,
		              err),
		    -1);
		CHECK_HAS(err, cases[i].why);
	}
	/* Text over the limit. */
	{
		uint8_t b[ATTACHPROTO_HEADER + ATTACHPROTO_TEXT_MAX + 2];

		b[0] = ATTACHPROTO_TAKEOVER;
		b[1] = 0;
		b[2] = ATTACHPROTO_TEXT_MAX + 1;
		memset(b + 3, 'a', ATTACHPROTO_TEXT_MAX + 1);
		CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, ATTACHPROTO_TEXT_MAX + 4, &m, err),
		    -1);
		b[2] = ATTACHPROTO_TEXT_MAX;
		CHECK_INT(parse(ATTACHPROTO_FROM_SUPERVISOR, b, ATTACHPROTO_TEXT_MAX + 3, &m, err),
		    ATTACHPROTO_TEXT_MAX + 3);
		CHECK_INT(strlen(m.text), ATTACHPROTO_TEXT_MAX);
	}
}

int
main(void)
{
	UNIT_BEGIN("test_attach");
	RUN(test_key_plain_bytes_pass);
	RUN(test_key_detach);
	RUN(test_key_mosh_sequences_pass);
	RUN(test_key_held_escape_waits);
	RUN(test_key_other_detach_key);
	RUN(test_key_parse_refuses);
	RUN(test_key_name);
	RUN(test_proto_roundtrip);
	RUN(test_proto_encode_limits);
	RUN(test_proto_partial);
	RUN(test_proto_hostile);
	UNIT_END();
}

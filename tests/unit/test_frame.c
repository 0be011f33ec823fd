/* SPDX-License-Identifier: MIT */
/* The tunnel's frame codec (src/link/frame.c) and the relay command lines (src/link/rrelay.c). */
#include "tests/unit/unit.h"

#include <stdint.h>

#include "src/link/frame.h"
#include "src/link/rrelay.h"

/* What a decoded frame said, copied out of the decoder's buffer. */
struct rec {
	int type;
	size_t len;
	uint8_t payload[FRAME_DATA_MAX];
	uint8_t vmin, vmax, code;
	uint8_t token[FRAME_TOKEN_LEN];
	char text[FRAME_TEXT_MAX + 1];
};

#define MAXREC 32

struct run {
	struct rec rec[MAXREC];
	int n;
	int error; /* FRAME_ERROR seen */
	char err[512];
};

static uint8_t stream[16384];
static size_t stream_len;

static void
put(const uint8_t *p, size_t n)
{
	if (stream_len + n > sizeof stream)
		abort();
	memcpy(stream + stream_len, p, n);
	stream_len += n;
}

static void
put_str(const char *s)
{
	put((const uint8_t *)s, strlen(s));
}

static void
put_raw_header(int type, size_t len)
{
	uint8_t h[3] = { (uint8_t)type, (uint8_t)(len >> 8), (uint8_t)len };

	put(h, 3);
}

static void
fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* A hello and one of every frame, datagrams at the edges of the size range. */
static void
build_stream(void)
{
	uint8_t fb[FRAME_ENCODED_MAX], dg[FRAME_DATA_MAX];
	static const uint8_t tok[FRAME_TOKEN_LEN] = { 1, 2, 3, 4, 5, 6, 7, 0xff };
	static const size_t sizes[] = { 0, 1, 2, 1252, 2047, 2048 };
	char err[128];

	stream_len = 0;
	put(fb, frame_encode_hello(fb, sizeof fb, 1, 1, "moshman test"));
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		fill(dg, sizes[i], (unsigned)i);
		put(fb, frame_encode_data(fb, sizeof fb, dg, sizes[i], err, sizeof err));
	}
	put(fb, frame_encode_ping(fb, sizeof fb, tok));
	put(fb, frame_encode_pong(fb, sizeof fb, tok));
	put(fb, frame_encode_notice(fb, sizeof fb, FRAME_NOTICE_REFUSED, "nothing there"));
	put(fb, frame_encode_close(fb, sizeof fb, FRAME_CLOSE_OK, "bye"));
}

static void
drain(struct frame_decoder *d, struct run *r)
{
	struct frame f;
	enum frame_result fr;

	while ((fr = frame_decoder_next(d, &f)) == FRAME_OK) {
		if (r->n == MAXREC)
			abort();
		struct rec *c = &r->rec[r->n++];
		c->type = f.type;
		c->len = f.len;
		memcpy(c->payload, f.payload, f.len);
		c->vmin = f.version_min;
		c->vmax = f.version_max;
		c->code = f.code;
		memcpy(c->token, f.token, sizeof c->token);
		memcpy(c->text, f.text, sizeof c->text);
	}
	if (fr == FRAME_ERROR && !r->error) {
		r->error = 1;
		snprintf(r->err, sizeof r->err, "%s", frame_decoder_error(d));
	}
}

/* Feeds p[0..n) cut at the given points (ascending, may be empty). */
static void
decode_cuts(enum frame_peer peer, const uint8_t *p, size_t n, const size_t *cuts, int ncuts,
    struct run *r)
{
	struct frame_decoder d;
	size_t at = 0;

	memset(r, 0, sizeof *r);
	frame_decoder_init(&d, peer);
	for (int i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		frame_decoder_feed(&d, p + at, end - at);
		drain(&d, r);
		at = end;
	}
	frame_decoder_free(&d);
}

static void
decode_one(enum frame_peer peer, const uint8_t *p, size_t n, struct run *r)
{
	decode_cuts(peer, p, n, NULL, 0, r);
}

static int
same_run(const struct run *a, const struct run *b)
{
	if (a->n != b->n || a->error != b->error)
		return 0;
	for (int i = 0; i < a->n; i++) {
		const struct rec *x = &a->rec[i], *y = &b->rec[i];
		if (x->type != y->type || x->len != y->len ||
		    memcmp(x->payload, y->payload, x->len) != 0 || x->code != y->code ||
		    memcmp(x->token, y->token, sizeof x->token) != 0 ||
		    strcmp(x->text, y->text) != 0)
			return 0;
	}
	return 1;
}

static void
test_roundtrip(void)
{
	struct run r;
	uint8_t dg[FRAME_DATA_MAX];

	build_stream();
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &r);
	CHECK_INT(r.error, 0);
	CHECK_INT(r.n, 11);
	CHECK_INT(r.rec[0].type, FRAME_HELLO);
	CHECK_INT(r.rec[0].vmin, 1);
	CHECK_INT(r.rec[0].vmax, 1);
	CHECK_STR(r.rec[0].text, "moshman test");
	static const size_t sizes[] = { 0, 1, 2, 1252, 2047, 2048 };
	for (int i = 0; i < 6; i++) {
		CHECK_INT(r.rec[1 + i].type, FRAME_DATA);
		CHECK_INT(r.rec[1 + i].len, sizes[i]);
		fill(dg, sizes[i], (unsigned)i);
		CHECK(memcmp(r.rec[1 + i].payload, dg, sizes[i]) == 0);
	}
	CHECK_INT(r.rec[7].type, FRAME_PING);
	CHECK_INT(r.rec[7].token[7], 0xff);
	CHECK_INT(r.rec[7].token[0], 1);
	CHECK_INT(r.rec[8].type, FRAME_PONG);
	CHECK(memcmp(r.rec[7].token, r.rec[8].token, FRAME_TOKEN_LEN) == 0);
	CHECK_INT(r.rec[9].type, FRAME_NOTICE);
	CHECK_INT(r.rec[9].code, FRAME_NOTICE_REFUSED);
	CHECK_STR(r.rec[9].text, "nothing there");
	CHECK_INT(r.rec[10].type, FRAME_CLOSE);
	CHECK_INT(r.rec[10].code, FRAME_CLOSE_OK);
	CHECK_STR(r.rec[10].text, "bye");
}

/* The wire format is the spec: pin it, so a change shows up here and in the docs. */
static void
test_wire_bytes(void)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	static const uint8_t tok[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const uint8_t hello[] = { 0x8b, 'M', 'O', 'S', 'H', 'M', 'A', 'N', '\r', '\n', 0x01,
		0x00, 0x04, 0x01, 0x02, 'a', 'b' };
	static const uint8_t ping[] = { 0x03, 0x00, 0x08, 0, 1, 2, 3, 4, 5, 6, 7 };
	static const uint8_t data[] = { 0x02, 0x00, 0x03, 'x', 'y', 'z' };
	static const uint8_t close[] = { 0x05, 0x00, 0x03, 0x01, 'n', 'o' };
	size_t n;

	n = frame_encode_hello(fb, sizeof fb, 1, 2, "ab");
	CHECK_INT(n, sizeof hello);
	CHECK(memcmp(fb, hello, sizeof hello) == 0);
	n = frame_encode_ping(fb, sizeof fb, tok);
	CHECK_INT(n, sizeof ping);
	CHECK(memcmp(fb, ping, sizeof ping) == 0);
	n = frame_encode_data(fb, sizeof fb, "xyz", 3, NULL, 0);
	CHECK_INT(n, sizeof data);
	CHECK(memcmp(fb, data, sizeof data) == 0);
	n = frame_encode_close(fb, sizeof fb, FRAME_CLOSE_PROTOCOL, "no");
	CHECK_INT(n, sizeof close);
	CHECK(memcmp(fb, close, sizeof close) == 0);
	n = frame_encode_data(fb, sizeof fb, stream, FRAME_DATA_MAX, NULL, 0);
	CHECK_INT(n, FRAME_ENCODED_MAX);
	CHECK_INT(fb[1], 0x08);
	CHECK_INT(fb[2], 0x00);
}

/* Datagram boundaries survive every way TCP may cut the stream. */
static void
test_every_split(void)
{
	struct run ref, r;
	size_t cut[2];
	int bad = 0;

	build_stream();
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &ref);
	CHECK_INT(ref.n, 11);
	for (size_t i = 0; i <= stream_len; i++) {
		cut[0] = i;
		decode_cuts(FRAME_PEER_CLIENT, stream, stream_len, cut, 1, &r);
		if (!same_run(&ref, &r) && bad++ < 3)
			printf("    split at %zu differs\n", i);
	}
	/* Two cuts near every frame edge. */
	for (size_t i = 0; i + 1 < stream_len; i += 7) {
		for (size_t j = i + 1; j <= stream_len && j < i + 40; j++) {
			cut[0] = i;
			cut[1] = j;
			decode_cuts(FRAME_PEER_CLIENT, stream, stream_len, cut, 2, &r);
			if (!same_run(&ref, &r) && bad++ < 3)
				printf("    cuts at %zu,%zu differ\n", i, j);
		}
	}
	CHECK_INT(bad, 0);
}

static void
test_byte_at_a_time(void)
{
	struct run ref, r;
	struct frame_decoder d;

	build_stream();
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &ref);
	memset(&r, 0, sizeof r);
	frame_decoder_init(&d, FRAME_PEER_CLIENT);
	for (size_t i = 0; i < stream_len; i++) {
		frame_decoder_feed(&d, stream + i, 1);
		drain(&d, &r);
	}
	CHECK(same_run(&ref, &r));
	CHECK_INT(frame_decoder_eof(&d), 0);
	frame_decoder_free(&d);
}

static void
test_random_chunks(void)
{
	struct run ref, r;
	size_t cuts[64];
	unsigned seed = 7;
	int bad = 0;

	build_stream();
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &ref);
	for (int round = 0; round < 2000; round++) {
		int n = 0;
		size_t at = 0;
		while (n < 64) {
			seed = seed * 1103515245u + 12345u;
			at += (seed >> 16) % 300;
			if (at >= stream_len)
				break;
			cuts[n++] = at;
		}
		decode_cuts(FRAME_PEER_CLIENT, stream, stream_len, cuts, n, &r);
		if (!same_run(&ref, &r))
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void
test_noise_before_handshake(void)
{
	static uint8_t buf[FRAME_NOISE_MAX + 20000];
	struct run ref, r;
	const char *motd = "Linux host 6.1.0 #1 SMP\r\nWelcome!\n\x1b[1mhi\x1b[0m\n"
	                   "\x8bMOSH not quite\n\x8bMOSHMAN\r"; /* near misses */
	size_t n, m = strlen(motd), cut[1];
	int bad = 0;

	build_stream();
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &ref);
	memcpy(buf, motd, m);
	memcpy(buf + m, stream, stream_len);
	n = m + stream_len;
	for (size_t i = 0; i <= n; i++) {
		cut[0] = i;
		decode_cuts(FRAME_PEER_RELAY, buf, n, cut, 1, &r);
		if (!same_run(&ref, &r) && bad++ < 3)
			printf("    split at %zu differs: %s\n", i, r.err);
	}
	CHECK_INT(bad, 0);

	/* The client side gets no such leniency. */
	decode_one(FRAME_PEER_CLIENT, buf, n, &r);
	CHECK_INT(r.error, 1);
	CHECK_INT(r.n, 0);
	CHECK_HAS(r.err, "expected the moshman tunnel handshake");
	CHECK_HAS(r.err, "Linux host");

	/* Exactly the limit of noise is fine, one byte more is not. */
	memset(buf, 'x', FRAME_NOISE_MAX);
	memcpy(buf + FRAME_NOISE_MAX, stream, stream_len);
	decode_one(FRAME_PEER_RELAY, buf, FRAME_NOISE_MAX + stream_len, &r);
	CHECK_INT(r.error, 0);
	CHECK(same_run(&ref, &r));
	memset(buf, 'x', FRAME_NOISE_MAX + 1);
	memcpy(buf + FRAME_NOISE_MAX - 20, "the end of the motd", 19);
	memcpy(buf + FRAME_NOISE_MAX + 1, stream, stream_len);
	decode_one(FRAME_PEER_RELAY, buf, FRAME_NOISE_MAX + 1 + stream_len, &r);
	CHECK_INT(r.error, 1);
	CHECK_INT(r.n, 0);
	CHECK_HAS(r.err, "no relay handshake in the first 65536 bytes");
	CHECK_HAS(r.err, "the end of the motd");
	CHECK(strlen(r.err) < 300);
}

/* The error comes as soon as the limit is passed, not when more input arrives. */
static void
test_noise_fails_early(void)
{
	static uint8_t buf[FRAME_NOISE_MAX + FRAME_MAGIC_LEN];
	struct frame_decoder d;
	struct frame f;

	memset(buf, 'y', sizeof buf);
	frame_decoder_init(&d, FRAME_PEER_RELAY);
	frame_decoder_feed(&d, buf, sizeof buf);
	CHECK_INT(frame_decoder_next(&d, &f), FRAME_ERROR);
	CHECK_HAS(frame_decoder_error(&d), "no relay handshake");
	frame_decoder_free(&d);
}

static void
test_no_handshake_at_eof(void)
{
	struct frame_decoder d;
	struct frame f;
	const char *said =
	    "\x1b]0;title\x07\x1b[31mbash: line 1: perl: command not found\x1b[0m\r\n";

	frame_decoder_init(&d, FRAME_PEER_RELAY);
	frame_decoder_feed(&d, said, strlen(said));
	CHECK_INT(frame_decoder_next(&d, &f), FRAME_NEED_MORE);
	CHECK_INT(frame_decoder_eof(&d), -1);
	CHECK_STR(frame_decoder_error(&d),
	    "no relay handshake; the remote side printed: \"bash: line 1: perl: command not "
	    "found\"");
	frame_decoder_free(&d);

	frame_decoder_init(&d, FRAME_PEER_RELAY);
	CHECK_INT(frame_decoder_eof(&d), -1);
	CHECK_HAS(frame_decoder_error(&d), "printed nothing");
	frame_decoder_free(&d);

	frame_decoder_init(&d, FRAME_PEER_CLIENT);
	frame_decoder_feed(&d, FRAME_MAGIC, 4);
	CHECK_INT(frame_decoder_next(&d, &f), FRAME_NEED_MORE);
	CHECK_INT(frame_decoder_eof(&d), -1);
	CHECK_HAS(frame_decoder_error(&d), "closed before its handshake");
	frame_decoder_free(&d);
}

/* Feeds the magic, a HELLO and then raw bytes; returns the decoder's error or NULL. */
static const char *
after_hello(const uint8_t *p, size_t n, int *nframes)
{
	static char err[512];
	struct frame_decoder d;
	struct run r;

	stream_len = 0;
	uint8_t fb[FRAME_ENCODED_MAX];
	put(fb, frame_encode_hello(fb, sizeof fb, 1, 1, "t"));
	put(p, n);
	memset(&r, 0, sizeof r);
	frame_decoder_init(&d, FRAME_PEER_RELAY);
	frame_decoder_feed(&d, stream, stream_len);
	drain(&d, &r);
	frame_decoder_free(&d);
	*nframes = r.n;
	if (!r.error)
		return NULL;
	snprintf(err, sizeof err, "%s", r.err);
	return err;
}

static void
test_oversized(void)
{
	uint8_t h[3] = { FRAME_DATA, 0x08, 0x01 }, fb[FRAME_ENCODED_MAX];
	static uint8_t big[4000];
	char err[128] = "";
	int n;

	/* Fails on the header alone, without waiting for 2049 bytes. */
	CHECK_STR(after_hello(h, 3, &n),
	    "DATA frame of 2049 bytes exceeds the 2048-byte "
	    "datagram limit");
	CHECK_INT(n, 1);
	h[1] = h[2] = 0xff;
	CHECK_HAS(after_hello(h, 3, &n), "65535 bytes");
	CHECK_INT(frame_encode_data(fb, sizeof fb, big, 2049, err, sizeof err), 0);
	CHECK_STR(err, "datagram of 2049 bytes exceeds the 2048-byte limit");
	CHECK_INT(frame_encode_data(fb, sizeof fb, big, sizeof big, err, sizeof err), 0);
	CHECK_HAS(err, "4000");
}

static void
test_unknown_type(void)
{
	static const int types[] = { 0x00, 0x07, 0x7f, 0x80, 0xff };
	char want[64];
	int n;

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		uint8_t h[3] = { (uint8_t)types[i], 0, 1 };
		snprintf(want, sizeof want, "unknown frame type 0x%02x", types[i]);
		CHECK_HAS(after_hello(h, 3, &n), want);
		CHECK_INT(n, 1);
	}
	/* Plain text after the handshake is garbage too. */
	CHECK_HAS(after_hello((const uint8_t *)"hello\n", 6, &n), "unknown frame type 0x68");
}

static void
test_bad_lengths(void)
{
	uint8_t p[16];
	int n;

	memset(p, 0, sizeof p);
	p[0] = FRAME_PING;
	p[2] = 7;
	CHECK_HAS(after_hello(p, sizeof p, &n), "PING frame of 7 bytes; expected 8..8");
	p[2] = 9;
	CHECK_HAS(after_hello(p, sizeof p, &n), "PING frame of 9 bytes");
	p[0] = FRAME_PONG;
	CHECK_HAS(after_hello(p, sizeof p, &n), "PONG frame of 9 bytes");
	p[0] = FRAME_CLOSE;
	p[2] = 0;
	CHECK_HAS(after_hello(p, sizeof p, &n), "CLOSE frame of 0 bytes; expected 1..201");
	p[0] = FRAME_NOTICE;
	p[1] = 1;
	CHECK_HAS(after_hello(p, sizeof p, &n), "NOTICE frame of 256 bytes");
	CHECK_INT(n, 1);
}

static void
test_order(void)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	struct run r;
	size_t n;
	int nf;

	/* Something other than HELLO first. */
	stream_len = 0;
	put_str(FRAME_MAGIC);
	put(fb, frame_encode_data(fb, sizeof fb, "x", 1, NULL, 0));
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &r);
	CHECK_INT(r.n, 0);
	CHECK_HAS(r.err, "expected HELLO as the first frame, got DATA");
	/* A second HELLO. */
	n = frame_encode_hello(fb, sizeof fb, 1, 1, "again");
	CHECK_STR(after_hello(fb + FRAME_MAGIC_LEN, n - FRAME_MAGIC_LEN, &nf),
	    "unexpected second HELLO");
	/* A second magic is just an unknown type 0x8b. */
	CHECK_HAS(after_hello(fb, n, &nf), "unknown frame type 0x8b");
}

static void
test_truncated(void)
{
	struct frame_decoder d;
	struct run r;
	int bad = 0;

	build_stream();
	/* Cut anywhere inside the last-but-one frame (the NOTICE): the decoder waits, then
	 * eof names the problem; cut on a boundary: eof is clean. */
	size_t close_len = 3 + 1 + 3, notice_len = 3 + 1 + strlen("nothing there");
	size_t end = stream_len - close_len, start = end - notice_len;
	for (size_t cut = start; cut <= end; cut++) {
		memset(&r, 0, sizeof r);
		frame_decoder_init(&d, FRAME_PEER_CLIENT);
		frame_decoder_feed(&d, stream, cut);
		drain(&d, &r);
		int want_clean = cut == start || cut == end;
		int got = frame_decoder_eof(&d);
		if (r.error || got != (want_clean ? 0 : -1))
			bad++;
		if (!want_clean && frame_decoder_error(&d) != NULL &&
		    strstr(frame_decoder_error(&d), "ended inside a NOTICE frame") == NULL)
			bad++;
		frame_decoder_free(&d);
	}
	CHECK_INT(bad, 0);

	/* Inside the handshake. */
	frame_decoder_init(&d, FRAME_PEER_CLIENT);
	frame_decoder_feed(&d, stream, FRAME_MAGIC_LEN + 2);
	memset(&r, 0, sizeof r);
	drain(&d, &r);
	CHECK_INT(frame_decoder_eof(&d), -1);
	CHECK_HAS(frame_decoder_error(&d), "ended inside the handshake");
	frame_decoder_free(&d);
}

static void
test_version(void)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	struct run r;

	CHECK_INT(frame_version_choose(1, 1, 1, 1), 1);
	CHECK_INT(frame_version_choose(1, 3, 2, 5), 3);
	CHECK_INT(frame_version_choose(2, 5, 1, 3), 3);
	CHECK_INT(frame_version_choose(1, 1, 2, 3), -1);
	CHECK_INT(frame_version_choose(4, 9, 1, 3), -1);

	frame_encode_hello(fb, sizeof fb, 2, 7, "future");
	decode_one(FRAME_PEER_RELAY, fb, sizeof fb, &r);
	CHECK_INT(r.rec[0].vmin, 2);
	CHECK_INT(r.rec[0].vmax, 7);
	CHECK_INT(frame_version_choose(FRAME_VERSION_MIN, FRAME_VERSION_MAX, r.rec[0].vmin,
	              r.rec[0].vmax),
	    -1);

	/* Versions that make no sense are a protocol error. */
	stream_len = 0;
	put_str(FRAME_MAGIC);
	put_raw_header(FRAME_HELLO, 2);
	put((const uint8_t *)"\x00\x01", 2);
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &r);
	CHECK_HAS(r.err, "HELLO announces protocol versions 0..1");
	stream[stream_len - 2] = 3;
	decode_one(FRAME_PEER_CLIENT, stream, stream_len, &r);
	CHECK_HAS(r.err, "versions 3..1");
}

static void
test_sticky_error(void)
{
	struct frame_decoder d;
	struct frame f;
	uint8_t fb[FRAME_ENCODED_MAX];
	char first[512];

	frame_decoder_init(&d, FRAME_PEER_CLIENT);
	frame_decoder_feed(&d, "garbage!!!", 10);
	CHECK_INT(frame_decoder_next(&d, &f), FRAME_ERROR);
	snprintf(first, sizeof first, "%s", frame_decoder_error(&d));
	build_stream();
	frame_decoder_feed(&d, stream, stream_len);
	CHECK_INT(frame_decoder_next(&d, &f), FRAME_ERROR);
	CHECK_STR(frame_decoder_error(&d), first);
	CHECK_INT(frame_decoder_eof(&d), -1);
	CHECK_INT((int)d.len, 0); /* nothing held after an error */
	frame_decoder_free(&d);
	(void)fb;
}

static void
test_after_close(void)
{
	struct frame_decoder d;
	struct run r;

	build_stream(); /* ends with CLOSE */
	put_str("trailing junk that nobody reads");
	memset(&r, 0, sizeof r);
	frame_decoder_init(&d, FRAME_PEER_CLIENT);
	frame_decoder_feed(&d, stream, stream_len);
	drain(&d, &r);
	CHECK_INT(r.error, 0);
	CHECK_INT(r.rec[r.n - 1].type, FRAME_CLOSE);
	frame_decoder_feed(&d, "more", 4);
	drain(&d, &r);
	CHECK_INT(r.error, 0);
	CHECK_INT(frame_decoder_eof(&d), 0);
	frame_decoder_free(&d);
}

static void
test_text_sanitized(void)
{
	uint8_t fb[FRAME_ENCODED_MAX], body[300];
	char longtext[400];
	struct run r;
	size_t n;

	/* Whatever a peer sends as text arrives printable. */
	stream_len = 0;
	n = frame_encode_hello(fb, sizeof fb, 1, 1, "t");
	put(fb, n);
	body[0] = FRAME_CLOSE_FAILURE;
	memcpy(body + 1, "\x1b[2Jx\x07y\xc3\xa9z", 10);
	put_raw_header(FRAME_CLOSE, 11);
	put(body, 11);
	decode_one(FRAME_PEER_RELAY, stream, stream_len, &r);
	CHECK_INT(r.n, 2);
	CHECK_STR(r.rec[1].text, "?[2Jx?y??z");
	CHECK_INT(r.rec[1].code, FRAME_CLOSE_FAILURE);

	/* And ours leave printable and bounded. */
	memset(longtext, 'a', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	longtext[3] = '\n';
	n = frame_encode_close(fb, sizeof fb, 0, longtext);
	CHECK_INT(n, 3 + 1 + FRAME_TEXT_MAX);
	CHECK_INT(fb[3 + 1 + 3], '?');
	n = frame_encode_hello(fb, sizeof fb, 1, 1, longtext);
	CHECK_INT(n, FRAME_MAGIC_LEN + 3 + 2 + FRAME_IMPL_MAX);
}

static void
test_excerpt(void)
{
	char out[32];

	frame_excerpt("  one\r\n\r\ntwo  three \n", 21, out, sizeof out);
	CHECK_STR(out, "one / two three");
	frame_excerpt("caf\xc3\xa9\x01\x02ok", 9, out, sizeof out);
	CHECK_STR(out, "caf?ok");
	frame_excerpt("abcdefghijklmnopqrstuvwxyz0123456789", 36, out, sizeof out);
	CHECK_STR(out, "abcdefghijklmnopqrstuvwxyz01...");
	CHECK_INT(strlen(out), sizeof out - 1);
	frame_excerpt("\x1b[1;31mred\x1b[0m \x1b]2;t\x1b\\x", 23, out, sizeof out);
	CHECK_STR(out, "red x");
	frame_excerpt("", 0, out, sizeof out);
	CHECK_STR(out, "");
}

/* The Perl relay's command line survives any login shell: single-quoted, with nothing
 * inside that sh, bash, zsh, fish or csh would touch; it names the script's length. */
static void
test_perl_command(void)
{
	char *cmd, *q1, *q2, want[64];

	cmd = rrelay_perl_command(NULL, 60001, 0);
	CHECK(strncmp(cmd, "exec perl -e '", 14) == 0);
	q1 = strchr(cmd, '\'');
	q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;
	CHECK(q2 != NULL && strchr(q2 + 1, '\'') == NULL);
	CHECK(strchr(cmd, '\\') == NULL);
	CHECK(strchr(cmd, '!') == NULL);
	CHECK(strchr(cmd, '\n') == NULL);
	snprintf(want, sizeof want, "' %zu --port 60001", strlen(rrelay_perl_script()));
	CHECK_HAS(cmd, want);
	free(cmd);

	cmd = rrelay_perl_command("::1", 5, 1);
	CHECK_HAS(cmd, " --port 5 --proto 1 --host ::1");
	free(cmd);
	cmd = rrelay_native_command(NULL, 60001, 1);
	CHECK_STR(cmd, "exec moshman relay --port 60001 --proto 1");
	free(cmd);

	CHECK(rrelay_valid_host("127.0.0.1"));
	CHECK(rrelay_valid_host("::1"));
	CHECK(!rrelay_valid_host("localhost"));
	CHECK(!rrelay_valid_host("1.2.3.4;reboot"));
	CHECK(!rrelay_valid_host(""));
	CHECK_HAS(rrelay_perl_script(), "tunnel protocol version 1");
}

int
main(void)
{
	UNIT_BEGIN("test_frame");
	RUN(test_roundtrip);
	RUN(test_wire_bytes);
	RUN(test_every_split);
	RUN(test_byte_at_a_time);
	RUN(test_random_chunks);
	RUN(test_noise_before_handshake);
	RUN(test_noise_fails_early);
	RUN(test_no_handshake_at_eof);
	RUN(test_oversized);
	RUN(test_unknown_type);
	RUN(test_bad_lengths);
	RUN(test_order);
	RUN(test_truncated);
	RUN(test_version);
	RUN(test_sticky_error);
	RUN(test_after_close);
	RUN(test_text_sanitized);
	RUN(test_excerpt);
	RUN(test_perl_command);
	UNIT_END();
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the tunnel's frame decoder (src/link/frame.c).
 * Byte 0 picks the mode, byte 1 seeds the chunking; the rest is the input.
 *   mode & 1: decode as the relay's output (noise allowed) or the client's (strict).
 *   mode & 2: round trip: the input is a list of datagrams (2-byte length, then bytes),
 *             encoded behind a HELLO, cut into random chunks, decoded and compared.
 * Whatever the bytes and the cuts, the decoder must not crash, must not return a frame
 * larger than the limit or with unprintable text, and must keep an error once it has one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/link/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned
next_cut(unsigned *seed, size_t max)
{
	*seed = *seed * 1103515245u + 12345u;
	return (unsigned)((*seed >> 16) % (max + 1));
}

static void
check_frame(const struct frame *f)
{
	if (f->len > FRAME_DATA_MAX)
		abort();
	if (f->type < FRAME_HELLO || f->type > FRAME_NOTICE)
		abort();
	if ((f->type == FRAME_PING || f->type == FRAME_PONG) && f->len != FRAME_TOKEN_LEN)
		abort();
	if (f->type == FRAME_HELLO && (f->version_min == 0 || f->version_min > f->version_max))
		abort();
	for (const char *p = f->text; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			abort();
	}
	if (strlen(f->text) > FRAME_TEXT_MAX)
		abort();
}

/* Feeds in random chunks; calls back for each frame; returns how the stream ended. */
static int
decode(enum frame_peer peer, const uint8_t *p, size_t n, unsigned seed,
    void (*each)(const struct frame *, void *), void *arg)
{
	struct frame_decoder d;
	struct frame f;
	enum frame_result fr = FRAME_NEED_MORE;
	size_t at = 0, step;
	int rc;

	frame_decoder_init(&d, peer);
	while (at < n) {
		step = 1 + next_cut(&seed, 700);
		if (step > n - at)
			step = n - at;
		frame_decoder_feed(&d, p + at, step);
		at += step;
		while ((fr = frame_decoder_next(&d, &f)) == FRAME_OK) {
			check_frame(&f);
			if (each != NULL)
				each(&f, arg);
		}
		if (fr == FRAME_ERROR) {
			const char *e = frame_decoder_error(&d);
			if (e == NULL || *e == '\0')
				abort();
			if (frame_decoder_next(&d, &f) != FRAME_ERROR)
				abort();
		}
	}
	rc = frame_decoder_eof(&d);
	if (fr == FRAME_ERROR && rc != -1)
		abort();
	frame_decoder_free(&d);
	return rc;
}

struct expect {
	const uint8_t *p; /* the datagram list, as in the input */
	size_t n, at;
	int frames, bad;
};

static void
compare(const struct frame *f, void *arg)
{
	struct expect *e = arg;
	size_t len;

	if (e->frames++ == 0) {
		if (f->type != FRAME_HELLO)
			e->bad = 1;
		return;
	}
	if (f->type != FRAME_DATA || e->at + 2 > e->n) {
		e->bad = 1;
		return;
	}
	len = ((size_t)e->p[e->at] << 8 | e->p[e->at + 1]) % (FRAME_DATA_MAX + 1);
	if (len > e->n - e->at - 2)
		len = e->n - e->at - 2;
	if (f->len != len || memcmp(f->payload, e->p + e->at + 2, len) != 0)
		e->bad = 1;
	e->at += 2 + len;
}

static void
roundtrip(const uint8_t *p, size_t n, unsigned seed)
{
	static uint8_t wire[1 << 20];
	struct expect e = { p, n, 0, 0, 0 };
	size_t at = 0, w = 0, len, count = 1;

	w += frame_encode_hello(wire, sizeof wire, FRAME_VERSION_MIN, FRAME_VERSION_MAX, "fuzz");
	while (at + 2 <= n && w + FRAME_ENCODED_MAX <= sizeof wire) {
		len = ((size_t)p[at] << 8 | p[at + 1]) % (FRAME_DATA_MAX + 1);
		if (len > n - at - 2)
			len = n - at - 2;
		w += frame_encode_data(wire + w, sizeof wire - w, p + at + 2, len, NULL, 0);
		at += 2 + len;
		count++;
	}
	e.n = at;
	if (decode(FRAME_PEER_RELAY, wire, w, seed, compare, &e) != 0 || e.bad ||
	    (size_t)e.frames != count || e.at != at)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] & 2)
		roundtrip(data + 2, size - 2, data[1]);
	else
		decode(data[0] & 1 ? FRAME_PEER_CLIENT : FRAME_PEER_RELAY, data + 2, size - 2,
		    data[1], NULL, NULL);
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include "src/link/frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/xmalloc.h"

enum {
	S_MAGIC,  /* looking for FRAME_MAGIC */
	S_HELLO,  /* the next frame must be HELLO */
	S_FRAMES, /* handshake done */
	S_CLOSED, /* a CLOSE arrived: the rest is ignored */
	S_FAILED, /* sticky: err says why */
};

void
frame_decoder_init(struct frame_decoder *d, enum frame_peer peer)
{
	memset(d, 0, sizeof *d);
	d->peer = peer;
	d->state = S_MAGIC;
}

void
frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->off = d->len = d->cap = 0;
}

/* The unconsumed input; never NULL, so that empty input is not pointer arithmetic on NULL. */
static const uint8_t *
frame_pending(const struct frame_decoder *d)
{
	return d->buf != NULL ? d->buf + d->off : (const uint8_t *)"";
}

const char *
frame_decoder_error(const struct frame_decoder *d)
{
	return d->state == S_FAILED ? d->err : NULL;
}

static enum frame_result
frame_fail(struct frame_decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum frame_result
frame_fail(struct frame_decoder *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof d->err, fmt, ap);
	va_end(ap);
	d->state = S_FAILED;
	/* Nothing after a protocol error is trusted; drop it now rather than hold it. */
	d->off = d->len = 0;
	return FRAME_ERROR;
}

void
frame_decoder_feed(struct frame_decoder *d, const void *p, size_t n)
{
	size_t need;

	if (n == 0 || d->state == S_FAILED || d->state == S_CLOSED)
		return;
	if (d->off > 0) {
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
	need = d->len + n;
	if (need > d->cap) {
		d->cap = d->cap < 4096 ? 4096 : d->cap;
		while (d->cap < need)
			d->cap *= 2;
		d->buf = xreallocarray(d->buf, d->cap, 1);
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static const char *
frame_type_name(int type)
{
	switch (type) {
	case FRAME_HELLO:
		return "HELLO";
	case FRAME_DATA:
		return "DATA";
	case FRAME_PING:
		return "PING";
	case FRAME_PONG:
		return "PONG";
	case FRAME_CLOSE:
		return "CLOSE";
	case FRAME_NOTICE:
		return "NOTICE";
	}
	return "unknown";
}

static int
excerpt_put(char *out, size_t outsz, size_t *o, const char *s, size_t n)
{
	if (*o + n > outsz - 1)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

/* Skips a terminal escape sequence starting at s[i] == ESC; returns the index after it.
 * Remote output is shown to the user, so it must not be able to drive their terminal. */
static size_t
excerpt_skip_escape(const uint8_t *s, size_t len, size_t i)
{
	i++;
	if (i >= len)
		return i;
	if (s[i] == '[') {
		for (i++; i < len && (s[i] < 0x40 || s[i] > 0x7e); i++)
			;
		return i + 1;
	}
	if (s[i] == ']') {
		for (i++; i < len && s[i] != 0x07 && s[i] != 0x1b; i++)
			;
		return i < len && s[i] == 0x1b ? i + 2 : i + 1;
	}
	return i + 1;
}

void
frame_excerpt(const void *src, size_t len, char *out, size_t outsz)
{
	const uint8_t *s = src;
	const char *sep;
	size_t o = 0, i = 0;
	int brk = 0, space = 0;
	char c;

	if (outsz == 0)
		return;
	while (i < len) {
		if (s[i] == 0x1b) {
			i = excerpt_skip_escape(s, len, i);
			continue;
		}
		if (s[i] == '\n' || s[i] == '\r') {
			brk = o > 0;
			i++;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t') {
			space = o > 0;
			i++;
			continue;
		}
		if (s[i] >= 0x20 && s[i] < 0x7f)
			c = (char)s[i++];
		else {
			/* A run of bytes we cannot show (UTF-8, binary) becomes one '?'. */
			c = '?';
			while (i < len && (s[i] < 0x20 || s[i] >= 0x7f) && s[i] != '\n' &&
			    s[i] != '\r' && s[i] != '\t' && s[i] != 0x1b)
				i++;
		}
		sep = brk ? " / " : space ? " " : "";
		brk = space = 0;
		if (excerpt_put(out, outsz, &o, sep, strlen(sep)) == -1 ||
		    excerpt_put(out, outsz, &o, &c, 1) == -1) {
			if (outsz >= 4) {
				o = o > outsz - 4 ? outsz - 4 : o;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
	}
	out[o] = '\0';
}

static void
frame_note_noise(struct frame_decoder *d, const uint8_t *p, size_t n)
{
	size_t keep = sizeof d->tail;

	d->noise += n;
	if (n >= keep) {
		memcpy(d->tail, p + n - keep, keep);
		d->tail_len = keep;
		return;
	}
	if (d->tail_len + n > keep) {
		memmove(d->tail, d->tail + (d->tail_len + n - keep), keep - n);
		d->tail_len = keep - n;
	}
	memcpy(d->tail + d->tail_len, p, n);
	d->tail_len += n;
}

static enum frame_result
frame_no_handshake(struct frame_decoder *d, int at_eof)
{
	char ex[sizeof d->tail + 8];
	const char *cut = d->noise > d->tail_len ? "..." : "";

	frame_excerpt(d->tail, d->tail_len, ex, sizeof ex);
	if (at_eof && *ex == '\0')
		return frame_fail(d, "no relay handshake: the remote side printed nothing");
	if (at_eof)
		return frame_fail(d, "no relay handshake; the remote side printed: \"%s%s\"", cut,
		    ex);
	return frame_fail(d,
	    "no relay handshake in the first %d bytes of output; they ended with: \"%s%s\"",
	    FRAME_NOISE_MAX, cut, ex);
}

/* The relay's output may start with whatever the login shell printed (motd, echoes in
 * .bashrc); skip up to FRAME_NOISE_MAX bytes of it.  The client's output may not. */
static enum frame_result
frame_find_magic(struct frame_decoder *d)
{
	const uint8_t *start = frame_pending(d), *hit;
	size_t avail = d->len - d->off, skip, n;
	char ex[96];

	if (d->peer == FRAME_PEER_CLIENT) {
		n = avail < FRAME_MAGIC_LEN ? avail : FRAME_MAGIC_LEN;
		if (memcmp(start, FRAME_MAGIC, n) != 0) {
			frame_excerpt(start, avail < 64 ? avail : 64, ex, sizeof ex);
			return frame_fail(d, "expected the moshman tunnel handshake, got \"%s\"",
			    ex);
		}
		if (n < FRAME_MAGIC_LEN)
			return FRAME_NEED_MORE;
		d->off += FRAME_MAGIC_LEN;
		d->state = S_HELLO;
		return FRAME_OK;
	}
	hit = avail == 0 ? NULL : memmem(start, avail, FRAME_MAGIC, FRAME_MAGIC_LEN);
	if (hit != NULL) {
		skip = (size_t)(hit - start);
		frame_note_noise(d, start, skip);
		if (d->noise > FRAME_NOISE_MAX)
			return frame_no_handshake(d, 0);
		d->off += skip + FRAME_MAGIC_LEN;
		d->state = S_HELLO;
		return FRAME_OK;
	}
	/* Keep a tail that may be the start of a magic split across chunks. */
	skip = avail > FRAME_MAGIC_LEN - 1 ? avail - (FRAME_MAGIC_LEN - 1) : 0;
	frame_note_noise(d, start, skip);
	d->off += skip;
	if (d->noise > FRAME_NOISE_MAX)
		return frame_no_handshake(d, 0);
	return FRAME_NEED_MORE;
}

/* Checked on the header alone, so garbage fails at once instead of waiting for a
 * payload that may never come. */
static enum frame_result
frame_check_header(struct frame_decoder *d, unsigned type, size_t len)
{
	size_t lo = 0, hi = FRAME_DATA_MAX;

	if (type < FRAME_HELLO || type > FRAME_NOTICE)
		return frame_fail(d, "unknown frame type 0x%02x (length %zu)", type, len);
	if (d->state == S_HELLO && type != FRAME_HELLO)
		return frame_fail(d, "expected HELLO as the first frame, got %s",
		    frame_type_name((int)type));
	if (d->state == S_FRAMES && type == FRAME_HELLO)
		return frame_fail(d, "unexpected second HELLO");
	switch (type) {
	case FRAME_HELLO:
		lo = 2;
		hi = 2 + FRAME_IMPL_MAX;
		break;
	case FRAME_DATA:
		if (len > FRAME_DATA_MAX)
			return frame_fail(d,
			    "DATA frame of %zu bytes exceeds the %d-byte datagram limit", len,
			    FRAME_DATA_MAX);
		return FRAME_OK;
	case FRAME_PING:
	case FRAME_PONG:
		lo = hi = FRAME_TOKEN_LEN;
		break;
	case FRAME_CLOSE:
	case FRAME_NOTICE:
		lo = 1;
		hi = 1 + FRAME_TEXT_MAX;
		break;
	}
	if (len < lo || len > hi)
		return frame_fail(d, "%s frame of %zu bytes; expected %zu..%zu",
		    frame_type_name((int)type), len, lo, hi);
	return FRAME_OK;
}

static void
frame_text(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	if (n > FRAME_TEXT_MAX)
		n = FRAME_TEXT_MAX;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

enum frame_result
frame_decoder_next(struct frame_decoder *d, struct frame *f)
{
	const uint8_t *h;
	enum frame_result r;
	unsigned type;
	size_t avail, len;

	switch (d->state) {
	case S_FAILED:
		return FRAME_ERROR;
	case S_CLOSED:
		return FRAME_NEED_MORE;
	case S_MAGIC:
		if ((r = frame_find_magic(d)) != FRAME_OK)
			return r;
		break;
	}
	avail = d->len - d->off;
	if (avail < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	h = frame_pending(d);
	type = h[0];
	len = (size_t)h[1] << 8 | h[2];
	if (frame_check_header(d, type, len) != FRAME_OK)
		return FRAME_ERROR;
	if (avail < FRAME_HEADER_LEN + len)
		return FRAME_NEED_MORE;
	d->off += FRAME_HEADER_LEN + len;

	memset(f, 0, sizeof *f);
	f->type = (enum frame_type)type;
	f->payload = h + FRAME_HEADER_LEN;
	f->len = len;
	switch (f->type) {
	case FRAME_HELLO:
		f->version_min = f->payload[0];
		f->version_max = f->payload[1];
		if (f->version_min == 0 || f->version_min > f->version_max)
			return frame_fail(d, "HELLO announces protocol versions %u..%u",
			    f->version_min, f->version_max);
		frame_text(f->text, f->payload + 2, len - 2);
		d->state = S_FRAMES;
		break;
	case FRAME_PING:
	case FRAME_PONG:
		memcpy(f->token, f->payload, FRAME_TOKEN_LEN);
		break;
	case FRAME_CLOSE:
		d->state = S_CLOSED;
		/* FALLTHROUGH */
	case FRAME_NOTICE:
		f->code = f->payload[0];
		frame_text(f->text, f->payload + 1, len - 1);
		break;
	case FRAME_DATA:
		break;
	}
	return FRAME_OK;
}

int
frame_decoder_eof(struct frame_decoder *d)
{
	size_t avail = d->len - d->off;
	char ex[96];

	switch (d->state) {
	case S_FAILED:
		return -1;
	case S_CLOSED:
		return 0;
	case S_MAGIC:
		if (d->peer == FRAME_PEER_RELAY) {
			frame_note_noise(d, frame_pending(d), avail);
			frame_no_handshake(d, 1);
			return -1;
		}
		frame_excerpt(frame_pending(d), avail, ex, sizeof ex);
		frame_fail(d, "the client closed before its handshake%s%s%s",
		    avail ? " (got \"" : "", ex, avail ? "\")" : "");
		return -1;
	case S_HELLO:
		frame_fail(d, "the stream ended inside the handshake (%zu bytes of HELLO)", avail);
		return -1;
	}
	if (avail == 0)
		return 0;
	frame_fail(d, "the stream ended inside a %s frame (%zu bytes of it)",
	    frame_type_name(*frame_pending(d)), avail);
	return -1;
}

/* One frame: header, then a (1-byte code or version pair), then the body. */
static size_t
frame_put(uint8_t *out, size_t outsz, int type, const uint8_t *head, size_t headlen,
    const void *body, size_t bodylen)
{
	size_t len = headlen + bodylen;

	if (FRAME_HEADER_LEN + len > outsz)
		fatalx("frame_put: %zu-byte %s frame into %zu bytes", FRAME_HEADER_LEN + len,
		    frame_type_name(type), outsz);
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	if (headlen > 0)
		memcpy(out + FRAME_HEADER_LEN, head, headlen);
	if (bodylen > 0)
		memcpy(out + FRAME_HEADER_LEN + headlen, body, bodylen);
	return FRAME_HEADER_LEN + len;
}

/* Text goes out printable and bounded, so no peer has to trust ours. */
static size_t
frame_clean_text(char *out, const char *in, size_t max)
{
	size_t n = 0;

	for (; in != NULL && in[n] != '\0' && n < max; n++) {
		out[n] = (unsigned char)in[n] >= 0x20 && (unsigned char)in[n] < 0x7f ? in[n] : '?';
	}
	return n;
}

size_t
frame_encode_hello(uint8_t *out, size_t outsz, int vmin, int vmax, const char *impl)
{
	uint8_t v[2];
	char text[FRAME_IMPL_MAX];
	size_t n;

	if (vmin < 1 || vmin > vmax || vmax > 255)
		fatalx("frame_encode_hello: versions %d..%d", vmin, vmax);
	if (outsz < FRAME_MAGIC_LEN)
		fatalx("frame_encode_hello: %zu bytes", outsz);
	v[0] = (uint8_t)vmin;
	v[1] = (uint8_t)vmax;
	n = frame_clean_text(text, impl, sizeof text);
	memcpy(out, FRAME_MAGIC, FRAME_MAGIC_LEN);
	return FRAME_MAGIC_LEN +
	    frame_put(out + FRAME_MAGIC_LEN, outsz - FRAME_MAGIC_LEN, FRAME_HELLO, v, 2, text, n);
}

size_t
frame_encode_data(uint8_t *out, size_t outsz, const void *p, size_t len, char *err, size_t errsz)
{
	if (len > FRAME_DATA_MAX) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "datagram of %zu bytes exceeds the %d-byte limit", len,
			    FRAME_DATA_MAX);
		return 0;
	}
	return frame_put(out, outsz, FRAME_DATA, NULL, 0, p, len);
}

size_t
frame_encode_ping(uint8_t *out, size_t outsz, const uint8_t token[FRAME_TOKEN_LEN])
{
	return frame_put(out, outsz, FRAME_PING, NULL, 0, token, FRAME_TOKEN_LEN);
}

size_t
frame_encode_pong(uint8_t *out, size_t outsz, const uint8_t token[FRAME_TOKEN_LEN])
{
	return frame_put(out, outsz, FRAME_PONG, NULL, 0, token, FRAME_TOKEN_LEN);
}

static size_t
frame_encode_coded(uint8_t *out, size_t outsz, int type, int code, const char *text)
{
	char body[FRAME_TEXT_MAX];
	uint8_t c;

	if (code < 0 || code > 255)
		fatalx("frame_encode: %s code %d", frame_type_name(type), code);
	c = (uint8_t)code;
	return frame_put(out, outsz, type, &c, 1, body, frame_clean_text(body, text, sizeof body));
}

size_t
frame_encode_close(uint8_t *out, size_t outsz, int status, const char *reason)
{
	return frame_encode_coded(out, outsz, FRAME_CLOSE, status, reason);
}

size_t
frame_encode_notice(uint8_t *out, size_t outsz, int code, const char *text)
{
	return frame_encode_coded(out, outsz, FRAME_NOTICE, code, text);
}

int
frame_version_choose(int min_a, int max_a, int min_b, int max_b)
{
	int lo = min_a > min_b ? min_a : min_b;
	int hi = max_a < max_b ? max_a : max_b;

	return hi >= lo ? hi : -1;
}

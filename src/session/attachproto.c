/* SPDX-License-Identifier: MIT */
#include "src/session/attachproto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static size_t
put_header(uint8_t *out, size_t cap, enum attachproto_type type, size_t len)
{
	if (len > ATTACHPROTO_DATA_MAX || cap < ATTACHPROTO_HEADER + len)
		return 0;
	out[0] = (uint8_t)type;
	put16(out + 1, (unsigned)len);
	return ATTACHPROTO_HEADER;
}

static int
dims_ok(int rows, int cols)
{
	return rows >= 1 && rows <= ATTACHPROTO_DIM_MAX && cols >= 1 && cols <= ATTACHPROTO_DIM_MAX;
}

/* Text after a fixed prefix of `skip` bytes: printable, cut at the limit. */
static size_t
put_text(uint8_t *out, size_t cap, enum attachproto_type type, const uint8_t *prefix, size_t skip,
    const char *text)
{
	size_t n = text != NULL ? strnlen(text, ATTACHPROTO_TEXT_MAX) : 0;

	if (put_header(out, cap, type, skip + n) == 0)
		return 0;
	if (skip > 0)
		memcpy(out + ATTACHPROTO_HEADER, prefix, skip);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		out[ATTACHPROTO_HEADER + skip + i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	return ATTACHPROTO_HEADER + skip + n;
}

size_t
attachproto_hello(uint8_t *out, size_t cap, int rows, int cols)
{
	if (!dims_ok(rows, cols) || put_header(out, cap, ATTACHPROTO_HELLO, 5) == 0)
		return 0;
	out[3] = ATTACHPROTO_VERSION;
	put16(out + 4, (unsigned)rows);
	put16(out + 6, (unsigned)cols);
	return ATTACHPROTO_HEADER + 5;
}

size_t
attachproto_data(uint8_t *out, size_t cap, const void *data, size_t len)
{
	if (len == 0 || put_header(out, cap, ATTACHPROTO_DATA, len) == 0)
		return 0;
	/* memmove: the supervisor reads the pty straight behind the header's room. */
	memmove(out + ATTACHPROTO_HEADER, data, len);
	return ATTACHPROTO_HEADER + len;
}

size_t
attachproto_resize(uint8_t *out, size_t cap, int rows, int cols)
{
	if (!dims_ok(rows, cols) || put_header(out, cap, ATTACHPROTO_RESIZE, 4) == 0)
		return 0;
	put16(out + 3, (unsigned)rows);
	put16(out + 5, (unsigned)cols);
	return ATTACHPROTO_HEADER + 4;
}

size_t
attachproto_detach(uint8_t *out, size_t cap)
{
	return put_header(out, cap, ATTACHPROTO_DETACH, 0);
}

size_t
attachproto_welcome(uint8_t *out, size_t cap, int64_t session_id, const char *host)
{
	uint8_t id[8];
	uint64_t v = (uint64_t)session_id;

	if (session_id <= 0)
		return 0;
	for (int i = 7; i >= 0; i--, v >>= 8)
		id[i] = (uint8_t)v;
	return put_text(out, cap, ATTACHPROTO_WELCOME, id, sizeof id, host);
}

size_t
attachproto_takeover(uint8_t *out, size_t cap, const char *why)
{
	return put_text(out, cap, ATTACHPROTO_TAKEOVER, NULL, 0, why);
}

size_t
attachproto_detached(uint8_t *out, size_t cap, const char *why)
{
	return put_text(out, cap, ATTACHPROTO_DETACHED, NULL, 0, why);
}

size_t
attachproto_exit(uint8_t *out, size_t cap, int status, const char *why)
{
	uint8_t st = (uint8_t)status;

	if (status < 0 || status > 255)
		return 0;
	return put_text(out, cap, ATTACHPROTO_EXIT, &st, 1, why);
}

static int fail(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies printable text; -1 on any other byte or when too long. */
static int
get_text(const uint8_t *p, size_t n, char *out)
{
	if (n > ATTACHPROTO_TEXT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return -1;
		out[i] = (char)p[i];
	}
	out[n] = '\0';
	return 0;
}

long
attachproto_parse(enum attachproto_peer peer, const uint8_t *buf, size_t len,
    struct attachproto_msg *m, char *err, size_t errlen)
{
	const uint8_t *p;
	size_t n;
	int type, from_term = peer == ATTACHPROTO_FROM_TERMINAL;

	if (len < 1)
		return 0;
	type = buf[0];
	memset(m, 0, sizeof *m);
	switch (type) {
	case ATTACHPROTO_HELLO:
	case ATTACHPROTO_RESIZE:
	case ATTACHPROTO_DETACH:
		if (!from_term)
			return fail(err, errlen, "message type %d from the supervisor", type);
		break;
	case ATTACHPROTO_WELCOME:
	case ATTACHPROTO_TAKEOVER:
	case ATTACHPROTO_EXIT:
	case ATTACHPROTO_DETACHED:
		if (from_term)
			return fail(err, errlen, "message type %d from a terminal", type);
		break;
	case ATTACHPROTO_DATA:
		break;
	default:
		return fail(err, errlen, "unknown message type %d", type);
	}
	if (len < ATTACHPROTO_HEADER)
		return 0;
	n = get16(buf + 1);
	if (n > ATTACHPROTO_DATA_MAX)
		return fail(err, errlen, "message of %d bytes (the limit is 16384)", (int)n);
	if (len < ATTACHPROTO_HEADER + n)
		return 0;
	p = buf + ATTACHPROTO_HEADER;
	m->type = (enum attachproto_type)type;
	switch (m->type) {
	case ATTACHPROTO_HELLO:
		if (n != 5)
			return fail(err, errlen, "HELLO of %d bytes (5 expected)", (int)n);
		m->version = p[0];
		if (m->version != ATTACHPROTO_VERSION)
			return fail(err, errlen,
			    "attach protocol version %d (this moshman speaks "
			    "1); attach with the same moshman that started the session",
			    m->version);
		m->rows = (int)get16(p + 1);
		m->cols = (int)get16(p + 3);
		if (!dims_ok(m->rows, m->cols))
			return fail(err, errlen,
			    "window size %d rows x %d columns out of range (1..4096)", m->rows,
			    m->cols);
		break;
	case ATTACHPROTO_RESIZE:
		if (n != 4)
			return fail(err, errlen, "RESIZE of %d bytes (4 expected)", (int)n);
		m->rows = (int)get16(p);
		m->cols = (int)get16(p + 2);
		if (!dims_ok(m->rows, m->cols))
			return fail(err, errlen,
			    "window size %d rows x %d columns out of range (1..4096)", m->rows,
			    m->cols);
		break;
	case ATTACHPROTO_DETACH:
		if (n != 0)
			return fail(err, errlen, "DETACH of %d bytes (0 expected)", (int)n);
		break;
	case ATTACHPROTO_DATA:
		if (n == 0)
			return fail(err, errlen, "empty DATA");
		m->data = p;
		m->len = n;
		break;
	case ATTACHPROTO_WELCOME: {
		uint64_t v = 0;

		if (n < 8)
			return fail(err, errlen, "WELCOME of %d bytes (8 or more expected)",
			    (int)n);
		for (int i = 0; i < 8; i++)
			v = v << 8 | p[i];
		m->session_id = (int64_t)v;
		if (m->session_id <= 0)
			return fail(err, errlen, "WELCOME for no session");
		if (get_text(p + 8, n - 8, m->text) == -1)
			return fail(err, errlen, "WELCOME with unprintable or long text");
		break;
	}
	case ATTACHPROTO_TAKEOVER:
	case ATTACHPROTO_DETACHED:
		if (get_text(p, n, m->text) == -1)
			return fail(err, errlen, "%s with unprintable or long text",
			    m->type == ATTACHPROTO_TAKEOVER ? "TAKEOVER" : "DETACHED");
		break;
	case ATTACHPROTO_EXIT:
		if (n < 1)
			return fail(err, errlen, "EXIT without a status");
		m->status = p[0];
		if (get_text(p + 1, n - 1, m->text) == -1)
			return fail(err, errlen, "EXIT with unprintable or long text");
		break;
	}
	return (long)(ATTACHPROTO_HEADER + n);
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the attach socket's codec (src/session/attachproto.c) and the
 * attach client's keyboard filter (src/session/attachkey.c).
 * Byte 0 picks the peer (bit 0) and whether to run the keyboard filter (bit 1); byte 1
 * seeds the chunking; the rest is the input.  Whatever the bytes, the parser must not
 * read past its input, must take a whole message or nothing, and must hand out values in
 * range; the filter must never write more than n + 1 bytes and must pass every byte of
 * a stream without the detach sequence through unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/session/attachkey.h"
#include "src/session/attachproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct attachproto_msg *m, long used)
{
	if (used < ATTACHPROTO_HEADER || used > ATTACHPROTO_MSG_MAX)
		abort();
	switch (m->type) {
	case ATTACHPROTO_HELLO:
	case ATTACHPROTO_RESIZE:
		if (m->rows < 1 || m->rows > ATTACHPROTO_DIM_MAX || m->cols < 1 ||
		    m->cols > ATTACHPROTO_DIM_MAX)
			abort();
		break;
	case ATTACHPROTO_DATA:
		if (m->len == 0 || m->len > ATTACHPROTO_DATA_MAX ||
		    (long)m->len != used - ATTACHPROTO_HEADER)
			abort();
		break;
	case ATTACHPROTO_WELCOME:
		if (m->session_id <= 0)
			abort();
		break;
	default:
		break;
	}
	for (const char *p = m->text; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			abort();
	}
	if (strlen(m->text) > ATTACHPROTO_TEXT_MAX)
		abort();
}

static void
parse_all(enum attachproto_peer peer, const uint8_t *p, size_t n)
{
	struct attachproto_msg m;
	char err[256];
	size_t at = 0;
	long used;

	while (at < n) {
		used = attachproto_parse(peer, p + at, n - at, &m, err, sizeof err);
		if (used <= 0) {
			if (used == -1 && err[0] == '\0')
				abort();
			/* A partial message must stay partial at every shorter length. */
			if (used == 0 && n - at > 1 &&
			    attachproto_parse(peer, p + at, n - at - 1, &m, err, sizeof err) != 0)
				abort();
			return;
		}
		if ((size_t)used > n - at)
			abort();
		check(&m, used);
		at += (size_t)used;
	}
}

static void
keys(const uint8_t *p, size_t n, unsigned seed)
{
	static unsigned char out[ATTACHPROTO_DATA_MAX + 1], all[1 << 16];
	struct attachkey k;
	size_t at = 0, total = 0, used, o, step;
	int detach = 0, saw_detach = 0;

	attachkey_init(&k, 'd');
	while (at < n && !saw_detach) {
		seed = seed * 1103515245u + 12345u;
		step = 1 + (seed >> 16) % 64;
		if (step > n - at)
			step = n - at;
		o = attachkey_feed(&k, p + at, step, out, &used, &detach);
		if (o > step + 1 || used > step || (!detach && used != step))
			abort();
		if (total + o <= sizeof all)
			memcpy(all + total, out, o);
		total += o;
		at += used;
		saw_detach = detach;
	}
	/* Without a detach, everything but a trailing held Ctrl-^ came out unchanged. */
	if (!saw_detach && total <= sizeof all) {
		if (total != n - (size_t)k.held || memcmp(all, p, total) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] & 2)
		keys(data + 2, size - 2, data[1]);
	else
		parse_all(data[0] & 1 ? ATTACHPROTO_FROM_SUPERVISOR : ATTACHPROTO_FROM_TERMINAL,
		    data + 2, size - 2);
	return 0;
}

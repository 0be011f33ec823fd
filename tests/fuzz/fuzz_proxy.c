/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the proxy codecs.  Byte 0 picks the parser (and its flags), the
 * rest is the peer's reply; or, for the builders, NUL-separated fields.  Besides memory
 * errors it checks what the driver relies on: a complete message is never longer than
 * the input, every shorter prefix of it "needs more", and error lines are printable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/ssh/proxy.h"
#include "src/util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
parse(int which, int flag, const uint8_t *buf, size_t len, char *err)
{
	int m;

	switch (which) {
	case 0:
		return proxy_socks5_parse_method(buf, len, flag, &m, err, PROXY_ERRLEN);
	case 1:
		return proxy_socks5_parse_auth(buf, len, err, PROXY_ERRLEN);
	case 2:
		return proxy_socks5_parse_connect(buf, len, err, PROXY_ERRLEN);
	default:
		return proxy_http_parse_response((const char *)buf, len, flag, &m, err,
		    PROXY_ERRLEN);
	}
}

static void
check_err(const char *err)
{
	const char *p;

	if (strlen(err) >= PROXY_ERRLEN || err[0] == '\0')
		abort();
	for (p = err; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* Builders: fields "host\0user\0pass" and a port from the selector. */
static void
build(const uint8_t *data, size_t size, int sel)
{
	char *copy, *host, *user, *pass, *req, *b64, err[PROXY_ERRLEN];
	uint8_t out[PROXY_SOCKS5_AUTH_MAX];
	int port = (sel * 257) % 70000 - 10, n;

	copy = xmalloc(size + 3);
	memcpy(copy, data, size);
	copy[size] = copy[size + 1] = copy[size + 2] = '\0';
	host = copy;
	user = host + strlen(host) + 1;
	pass = user + strlen(user) + 1;
	if ((size_t)(pass - copy) > size)
		pass = copy + size;

	req = proxy_http_request(host, port, (sel & 1) ? user : NULL, pass, err, sizeof err);
	if (req == NULL)
		check_err(err);
	else if (count(req, "\n") != ((sel & 1) ? 4 : 3) || count(req, "\r\n") != count(req, "\n"))
		abort(); /* header injection */
	xfree_secret(req);

	n = proxy_socks5_connect_request(out, host, port, sel & 2, err, sizeof err);
	if (n < 0)
		check_err(err);
	else if (n < 4 + 1 + 1 + 2 || n > PROXY_SOCKS5_CONNECT_MAX)
		abort();
	n = proxy_socks5_auth_request(out, user, pass, err, sizeof err);
	if (n < 0)
		check_err(err);
	else if ((size_t)n != 3 + strlen(user) + strlen(pass))
		abort();

	b64 = proxy_base64(data, size);
	if (strlen(b64) != (size + 2) / 3 * 4)
		abort();
	xfree_secret(b64);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PROXY_ERRLEN];
	uint8_t *buf;
	size_t len, k, step;
	int which, flag, r, rk;

	if (size < 1)
		return 0;
	which = data[0] & 7;
	flag = (data[0] >> 3) & 1;
	len = size - 1;
	if (which >= 4 && which != 7) {
		build(data + 1, len, data[0] >> 3);
		return 0;
	}
	buf = xmalloc(len ? len : 1); /* exact size: ASan sees any over-read */
	memcpy(buf, data + 1, len);
	err[0] = '\0';
	r = parse(which, flag, buf, len, err);
	if (r < PROXY_ERROR || (r > 0 && (size_t)r > len))
		abort();
	if (r == PROXY_ERROR)
		check_err(err);
	/* The driver consumes what "needs more" as it goes: every shorter prefix of a
	 * complete or incomplete message must need more too. */
	if (r >= 0) {
		k = r > 0 ? (size_t)r : len;
		step = k > 512 ? k / 64 : 1;
		for (len = 0; len < k; len += step) {
			rk = parse(which, flag, buf, len, err);
			if (rk != PROXY_NEED_MORE)
				abort();
		}
	}
	free(buf);
	return 0;
}

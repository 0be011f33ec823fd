/* SPDX-License-Identifier: MIT */
/*
 * proxy: the pure codecs, then the libev driver against fake servers written here (for
 * exact misbehaviour) and against the real microsocks and tinyproxy (started here when
 * installed), all on 127.0.0.1 with free ports.
 *
 * With arguments it is a small client for tests/e2e/proxy_local.sh:
 *   test_proxy connect TYPE PROXYHOST PROXYPORT TARGET PORT [TIMEOUT_MS]
 * (user and password from MOSHMAN_TEST_PROXY_USER / _PASS; empty user: none), which prints "connected" and
 * the first line the target sent, or "error: ..." and exits 1; and
 *   test_proxy freeport
 * prints a free TCP port on 127.0.0.1, and
 *   test_proxy fake silent|close-mid|garbage|target PORT
 * runs one of the fake servers on 127.0.0.1:PORT until SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "src/ssh/proxy.h"
#include "src/ssh/resolve.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

static const char banner[] = "SSH-2.0-moshman-test-target\r\n";

/* ---- codecs ----------------------------------------------------------------------- */

static void
test_type_names(void)
{
	CHECK_INT(proxy_type_from_name("none"), PROXY_NONE);
	CHECK_INT(proxy_type_from_name("socks5"), PROXY_SOCKS5);
	CHECK_INT(proxy_type_from_name("socks5h"), PROXY_SOCKS5H);
	CHECK_INT(proxy_type_from_name("http"), PROXY_HTTP);
	CHECK_INT(proxy_type_from_name("socks4"), PROXY_INVALID);
	CHECK_INT(proxy_type_from_name(""), -1);
	CHECK_INT(proxy_type_from_name("SOCKS5H"), PROXY_SOCKS5H);
	CHECK_INT(proxy_type_from_name(NULL), PROXY_NONE);
	CHECK_STR(proxy_type_name(PROXY_SOCKS5H), "socks5h");
	CHECK_STR(proxy_type_name((enum proxy_type)42), "?");
}

static void
test_socks5_greeting_method(void)
{
	uint8_t g[PROXY_SOCKS5_GREETING_MAX];
	char err[PROXY_ERRLEN];
	int m = -1;

	CHECK_INT(proxy_socks5_greeting(g, 0), 3);
	CHECK(memcmp(g, "\x05\x01\x00", 3) == 0);
	CHECK_INT(proxy_socks5_greeting(g, 1), 4);
	CHECK(memcmp(g, "\x05\x02\x00\x02", 4) == 0);

	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"", 0, 0, &m, err, sizeof err),
	    PROXY_NEED_MORE);
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05", 1, 0, &m, err, sizeof err),
	    PROXY_NEED_MORE);
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05\x00xyz", 5, 0, &m, err,
	              sizeof err),
	    2);
	CHECK_INT(m, 0);
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05\x02", 2, 1, &m, err, sizeof err),
	    2);
	CHECK_INT(m, 2);
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05\x02", 2, 0, &m, err, sizeof err),
	    PROXY_ERROR);
	CHECK_HAS(err, "did not offer");
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05\xff", 2, 0, &m, err, sizeof err),
	    PROXY_ERROR);
	CHECK_STR(err, "proxy requires authentication we do not have");
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x05\xff", 2, 1, &m, err, sizeof err),
	    PROXY_ERROR);
	CHECK_HAS(err, "accepts none of our authentication methods");
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"\x04\x00", 2, 0, &m, err, sizeof err),
	    PROXY_ERROR);
	CHECK_HAS(err, "not a SOCKS5 proxy (reply version 4)");
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"HTTP/1.1 400", 12, 0, &m, err,
	              sizeof err),
	    PROXY_ERROR);
	CHECK_HAS(err, "answered like an HTTP server");
	/* the first byte alone is enough to tell */
	CHECK_INT(proxy_socks5_parse_method((const uint8_t *)"S", 1, 0, &m, err, sizeof err),
	    PROXY_ERROR);
}

static void
test_socks5_auth(void)
{
	uint8_t o[PROXY_SOCKS5_AUTH_MAX];
	char err[PROXY_ERRLEN], u[300], p[300];

	CHECK_INT(proxy_socks5_auth_request(o, "bob", "s3cret", err, sizeof err), 12);
	CHECK(memcmp(o,
	          "\x01\x03"
	          "bob"
	          "\x06"
	          "s3cret",
	          12) == 0);
	CHECK_INT(proxy_socks5_auth_request(o, "bob", "", err, sizeof err), 6);
	CHECK_INT(proxy_socks5_auth_request(o, "", "x", err, sizeof err), -1);
	CHECK_HAS(err, "user name is empty");
	memset(u, 'u', sizeof u);
	memset(p, 'p', sizeof p);
	u[255] = p[255] = '\0';
	CHECK_INT(proxy_socks5_auth_request(o, u, p, err, sizeof err), 3 + 255 + 255);
	CHECK_INT(o[1], 255);
	CHECK_INT(o[2 + 255], 255);
	u[255] = 'u';
	u[256] = '\0';
	CHECK_INT(proxy_socks5_auth_request(o, u, "x", err, sizeof err), -1);
	CHECK_HAS(err, "user name is longer than 255");
	p[255] = 'p';
	p[256] = '\0';
	CHECK_INT(proxy_socks5_auth_request(o, "bob", p, err, sizeof err), -1);
	CHECK_HAS(err, "password is longer than 255");
	CHECK(strstr(err, "ppp") == NULL);

	CHECK_INT(proxy_socks5_parse_auth((const uint8_t *)"\x01", 1, err, sizeof err),
	    PROXY_NEED_MORE);
	CHECK_INT(proxy_socks5_parse_auth((const uint8_t *)"\x01\x00", 2, err, sizeof err), 2);
	CHECK_INT(proxy_socks5_parse_auth((const uint8_t *)"\x05\x00", 2, err, sizeof err), 2);
	CHECK_INT(proxy_socks5_parse_auth((const uint8_t *)"\x01\x01", 2, err, sizeof err),
	    PROXY_ERROR);
	CHECK_STR(err, "proxy rejected username/password");
	CHECK_INT(proxy_socks5_parse_auth((const uint8_t *)"\x07\x00", 2, err, sizeof err),
	    PROXY_ERROR);
}

static void
test_socks5_connect_request(void)
{
	uint8_t o[PROXY_SOCKS5_CONNECT_MAX];
	char err[PROXY_ERRLEN], name[300];

	CHECK_INT(proxy_socks5_connect_request(o, "10.1.2.3", 22, 0, err, sizeof err), 10);
	CHECK(memcmp(o, "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x16", 10) == 0);
	CHECK_INT(proxy_socks5_connect_request(o, "::1", 65535, 0, err, sizeof err), 22);
	CHECK(memcmp(o, "\x05\x01\x00\x04", 4) == 0);
	CHECK(memcmp(o + 4, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\xff\xff", 18) == 0);
	CHECK_INT(proxy_socks5_connect_request(o, "host.example", 443, 1, err, sizeof err),
	    4 + 1 + 12 + 2);
	CHECK(memcmp(o, "\x05\x01\x00\x03\x0chost.example\x01\xbb", 19) == 0);
	/* socks5 (not h) never sends a name */
	CHECK_INT(proxy_socks5_connect_request(o, "host.example", 443, 0, err, sizeof err), -1);
	CHECK_HAS(err, "not an IP address");
	memset(name, 'a', sizeof name);
	name[255] = '\0';
	CHECK_INT(proxy_socks5_connect_request(o, name, 22, 1, err, sizeof err), 262);
	name[255] = 'a';
	name[256] = '\0';
	CHECK_INT(proxy_socks5_connect_request(o, name, 22, 1, err, sizeof err), -1);
	CHECK_INT(proxy_socks5_connect_request(o, "", 22, 1, err, sizeof err), -1);
	CHECK_INT(proxy_socks5_connect_request(o, "1.2.3.4", 0, 1, err, sizeof err), -1);
	CHECK_INT(proxy_socks5_connect_request(o, "1.2.3.4", 65536, 1, err, sizeof err), -1);
}

/* Every strict prefix of a reply needs more; the whole is its exact length. */
static void
check_prefixes(const uint8_t *msg, size_t len, size_t total)
{
	char err[PROXY_ERRLEN];
	size_t i;

	for (i = 0; i < total; i++)
		CHECK_INT(proxy_socks5_parse_connect(msg, i, err, sizeof err), PROXY_NEED_MORE);
	CHECK_INT(proxy_socks5_parse_connect(msg, total, err, sizeof err), (int)total);
	CHECK_INT(proxy_socks5_parse_connect(msg, len, err, sizeof err), (int)total);
}

static void
test_socks5_connect_reply(void)
{
	static const uint8_t v4[] = "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38SSH-2.0";
	static const uint8_t v6[] = "\x05\x00\x00\x04"
	                            "0123456789abcdef"
	                            "\x00\x50"
	                            "x";
	static const uint8_t dom[] = "\x05\x00\x00\x03\x0dproxy.example\x00\x50SSH";
	static const uint8_t dom0[] = "\x05\x00\x00\x03\x00\x00\x50";
	static const struct {
		int rep;
		const char *msg;
	} reps[] = {
		{ 1, "general SOCKS server failure" },
		{ 2, "not allowed" },
		{ 3, "network unreachable" },
		{ 4, "host unreachable" },
		{ 5, "proxy refused: connection refused by destination" },
		{ 6, "TTL expired" },
		{ 7, "command not supported" },
		{ 8, "address type not supported" },
		{ 9, "unknown reply code 9" },
		{ 255, "unknown reply code 255" },
	};
	char err[PROXY_ERRLEN];
	uint8_t r[10];
	size_t i;

	check_prefixes(v4, sizeof v4 - 1, 10);
	check_prefixes(v6, sizeof v6 - 1, 22);
	check_prefixes(dom, sizeof dom - 1, 20);
	check_prefixes(dom0, sizeof dom0 - 1, 7);
	for (i = 0; i < sizeof reps / sizeof reps[0]; i++) {
		memcpy(r, v4, 10);
		r[1] = (uint8_t)reps[i].rep;
		/* decided as soon as the REP byte is there */
		CHECK_INT(proxy_socks5_parse_connect(r, 2, err, sizeof err), PROXY_ERROR);
		CHECK_HAS(err, reps[i].msg);
	}
	CHECK_STR(proxy_socks5_rep_message(5), "proxy refused: connection refused by destination");
	memcpy(r, v4, 10);
	r[3] = 2;
	CHECK_INT(proxy_socks5_parse_connect(r, 10, err, sizeof err), PROXY_ERROR);
	CHECK_HAS(err, "address type 2");
	r[0] = 0;
	CHECK_INT(proxy_socks5_parse_connect(r, 1, err, sizeof err), PROXY_ERROR);
}

static void
test_base64(void)
{
	static const char *const v[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "user:pass", "dXNlcjpwYXNz" },
		{ "\xff\xfe\xfd", "//79" },
	};
	size_t i;
	char *b;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		b = proxy_base64(v[i][0], strlen(v[i][0]));
		CHECK_STR(b, v[i][1]);
		xfree_secret(b);
	}
}

static void
test_http_request(void)
{
	char err[PROXY_ERRLEN], *r;

	r = proxy_http_request("10.0.0.2", 22, NULL, NULL, err, sizeof err);
	CHECK_STR(r, "CONNECT 10.0.0.2:22 HTTP/1.1\r\nHost: 10.0.0.2:22\r\n\r\n");
	xfree_secret(r);
	r = proxy_http_request("::1", 2222, "user", "pass", err, sizeof err);
	CHECK_STR(r,
	    "CONNECT [::1]:2222 HTTP/1.1\r\nHost: [::1]:2222\r\n"
	    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
	xfree_secret(r);
	r = proxy_http_request("h.example", 22, "user", NULL, err, sizeof err);
	CHECK_HAS(r, "Basic dXNlcjo=\r\n");
	xfree_secret(r);
	r = proxy_http_request("h\r\nX-Evil: 1", 22, NULL, NULL, err, sizeof err);
	CHECK(r == NULL);
	CHECK_HAS(err, "bad host name");
	r = proxy_http_request("h x", 22, NULL, NULL, err, sizeof err);
	CHECK(r == NULL);
	r = proxy_http_request("", 22, NULL, NULL, err, sizeof err);
	CHECK(r == NULL);
	r = proxy_http_request("h", 0, NULL, NULL, err, sizeof err);
	CHECK(r == NULL);
	r = proxy_http_request("h", 22, "a:b", "pw-secret", err, sizeof err);
	CHECK(r == NULL);
	CHECK_HAS(err, "must not contain ':'");
	CHECK(strstr(err, "pw-secret") == NULL);
}

static int
http(const char *s, int sent_auth, int *status, char *err)
{
	return proxy_http_parse_response(s, strlen(s), sent_auth, status, err, PROXY_ERRLEN);
}

static void
test_http_response(void)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n"
	                         "Proxy-agent: tinyproxy/1.11.1\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n";
	size_t headlen = strlen(ok) - strlen("SSH-2.0-OpenSSH_9.2\r\n"), i;
	char err[PROXY_ERRLEN], big[PROXY_HTTP_HEAD_MAX + 100];
	int st = -1;

	for (i = 0; i < headlen; i++)
		CHECK_INT(proxy_http_parse_response(ok, i, 0, &st, err, sizeof err),
		    PROXY_NEED_MORE);
	CHECK_INT(proxy_http_parse_response(ok, headlen, 0, &st, err, sizeof err), (int)headlen);
	CHECK_INT(http(ok, 0, &st, err), (int)headlen);
	CHECK_INT(st, 200);
	CHECK_INT(http("HTTP/1.0 200\r\n\r\n", 0, &st, err), 16);
	CHECK_INT(http("HTTP/1.0 204 No Content\n\nrest", 0, &st, err), 25);
	CHECK_INT(http("HTTP/1.1 200 OK\r\nA: b\n\r\nrest", 0, &st, err), 24);

	CHECK_INT(http("HTTP/1.1 407 Proxy Authentication Required\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_INT(st, 407);
	CHECK_HAS(err, "proxy wants authentication");
	CHECK_INT(http("HTTP/1.1 407 Proxy Authentication Required\r\n", 1, &st, err), PROXY_ERROR);
	CHECK_HAS(err, "proxy rejected the credentials");
	CHECK_INT(http("HTTP/1.1 401 Unauthorized\r\n", 1, &st, err), PROXY_ERROR);
	CHECK_STR(err, "proxy rejected the credentials (401 Unauthorized)");
	CHECK_INT(http("HTTP/1.1 403 Forbidden\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_STR(err, "proxy answered 403 Forbidden");
	CHECK_INT(http("HTTP/1.0 502\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_STR(err, "proxy answered 502");
	CHECK_INT(http("HTTP/1.1 503 Bad\x1b[31m\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_STR(err, "proxy answered 503 Bad?[31m");
	CHECK_INT(http("HTTP/1.1 100 Continue\r\n\r\n", 0, &st, err), PROXY_ERROR);

	/* garbage is recognised at once, without waiting for the end of a head */
	CHECK_INT(http("S", 0, &st, err), PROXY_ERROR);
	CHECK_INT(http("SSH-2.0-OpenSSH_9.2p1 Debian\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_HAS(err, "it is an ssh server: \"SSH-2.0-OpenSSH_9.2p1 Debian\"");
	CHECK_INT(http("\x05\x00", 0, &st, err), PROXY_ERROR);
	CHECK_HAS(err, "SOCKS5");
	CHECK_INT(http("<html>hello</html>", 0, &st, err), PROXY_ERROR);
	CHECK_HAS(err, "not an HTTP proxy (reply starts \"<html>hello</html>\")");
	CHECK_INT(http("HTTP/0.9 200 OK\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_HAS(err, "HTTP/0.9");
	CHECK_INT(http("HTTP/2 200\r\n\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_INT(http("HTTP/1.1 2000 OK\r\n\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_INT(http("HTTP/1.1 20\r\n\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_INT(http("HTTP/1.1 abc\r\n\r\n", 0, &st, err), PROXY_ERROR);
	CHECK_INT(http("HTTP/1.1 ", 0, &st, err), PROXY_NEED_MORE);
	CHECK_INT(http("HTTP/1.1 200 OK\r\n", 0, &st, err), PROXY_NEED_MORE);

	/* bounded at 16 KiB */
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	memset(big + 17, 'x', sizeof big - 17);
	CHECK_INT(proxy_http_parse_response(big, PROXY_HTTP_HEAD_MAX - 1, 0, &st, err, sizeof err),
	    PROXY_NEED_MORE);
	CHECK_INT(proxy_http_parse_response(big, PROXY_HTTP_HEAD_MAX, 0, &st, err, sizeof err),
	    PROXY_ERROR);
	CHECK_HAS(err, "longer than 16384 bytes");
	/* a head that ends past the bound is too long as well */
	memcpy(big + PROXY_HTTP_HEAD_MAX + 10, "\r\n\r\n", 4);
	CHECK_INT(proxy_http_parse_response(big, sizeof big, 0, &st, err, sizeof err), PROXY_ERROR);
	memset(big, 'x', sizeof big);
	CHECK_INT(proxy_http_parse_response(big, sizeof big, 0, &st, err, sizeof err), PROXY_ERROR);
}

/* ---- helpers for the driver tests ------------------------------------------------ */

#define MAX_CHILDREN 32
static pid_t children[MAX_CHILDREN];
static int nchildren;
static char tmpdir[] = "/tmp/moshman-proxy.XXXXXX";

static void
child_add(pid_t pid)
{
	if (nchildren < MAX_CHILDREN)
		children[nchildren++] = pid;
}

static void
children_kill(void)
{
	int i;

	for (i = 0; i < nchildren; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGTERM);
			waitpid(children[i], NULL, 0);
		}
	}
	nchildren = 0;
}

static void
on_signal(int sig)
{
	children_kill();
	_exit(128 + sig);
}

/* Listen on 127.0.0.1:*port (0: any free port, written back). */
static int
listen_local(int backlog, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A port nothing listens on (bound, then closed: refused unless raced). */
static int
free_port(void)
{
	int fd, port = 0;

	if ((fd = listen_local(1, &port)) != -1)
		close(fd);
	return port;
}

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Read exactly len bytes (a fake server reading a request); -1 on EOF. */
static int
read_n(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read an HTTP request head; returns its length or -1. */
static int
read_head(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		if (read(fd, buf + n, 1) != 1)
			return -1;
		n++;
		buf[n] = '\0';
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			return (int)n;
	}
	return -1;
}

/* Read a SOCKS5 greeting (and nothing more). */
static int
read_greeting(int fd)
{
	uint8_t g[2 + 255];

	if (read_n(fd, g, 2) == -1 || read_n(fd, g + 2, g[1]) == -1)
		return -1;
	return g[0] == 5 ? 0 : -1;
}

/* Read a SOCKS5 CONNECT request. */
static int
read_connect(int fd)
{
	uint8_t r[4 + 1 + 255 + 2];

	if (read_n(fd, r, 4) == -1)
		return -1;
	switch (r[3]) {
	case 1:
		return read_n(fd, r + 4, 6);
	case 4:
		return read_n(fd, r + 4, 18);
	case 3:
		if (read_n(fd, r + 4, 1) == -1)
			return -1;
		return read_n(fd, r + 5, r[4] + 2u);
	}
	return -1;
}

enum fake {
	FAKE_TARGET,          /* banner, then echo */
	FAKE_CLOSE,           /* accept, close */
	FAKE_SOCKS_CLOSE_MID, /* method ok, then close after the CONNECT request */
	FAKE_GARBAGE,         /* garbage after the first bytes */
	FAKE_SILENT,          /* never answers */
	FAKE_SOCKS_SPLIT,     /* correct reply dribbled byte by byte, banner right after */
	FAKE_SOCKS_REFUSED,   /* REP 5 */
	FAKE_HTTP_LEFTOVER,   /* 200 head and the banner in one write */
	FAKE_HTTP_SLOW,       /* 200 head in pieces, then the banner */
};

static void
fake_serve(enum fake kind, int fd)
{
	static const uint8_t split[] = "\x05\x00\x00\x03\x0dproxy.example\x00\x50";
	char buf[4096];
	const char *p;
	int len;

	switch (kind) {
	case FAKE_TARGET:
		write_all(fd, banner, sizeof banner - 1);
		while ((len = (int)read(fd, buf, sizeof buf)) > 0)
			write_all(fd, buf, (size_t)len);
		break;
	case FAKE_CLOSE:
		break;
	case FAKE_SOCKS_CLOSE_MID:
		if (read_greeting(fd) == 0) {
			write_all(fd, "\x05\x00", 2);
			read_connect(fd);
		}
		break;
	case FAKE_GARBAGE:
		if (read(fd, buf, sizeof buf) > 0)
			write_all(fd, "hello, this is not a proxy\r\n\r\n", 30);
		msleep(2000);
		break;
	case FAKE_SILENT:
		while (read(fd, buf, sizeof buf) > 0)
			;
		break;
	case FAKE_SOCKS_SPLIT:
		if (read_greeting(fd) == -1)
			break;
		write_all(fd, "\x05", 1);
		msleep(30);
		write_all(fd, "\x00", 1);
		if (read_connect(fd) == -1)
			break;
		for (p = (const char *)split; p < (const char *)split + sizeof split - 2; p++) {
			write_all(fd, p, 1);
			msleep(5);
		}
		/* the last byte of the reply and the server's first bytes together */
		memcpy(buf, split + sizeof split - 2, 1);
		memcpy(buf + 1, banner, sizeof banner - 1);
		write_all(fd, buf, sizeof banner);
		msleep(2000);
		break;
	case FAKE_SOCKS_REFUSED:
		if (read_greeting(fd) == 0) {
			write_all(fd, "\x05\x00", 2);
			if (read_connect(fd) == 0)
				write_all(fd, "\x05\x05\x00\x01\0\0\0\0\0\0", 10);
		}
		break;
	case FAKE_HTTP_LEFTOVER:
		if ((len = read_head(fd, buf, sizeof buf)) == -1)
			break;
		/* keep the request for the test to inspect */
		{
			char path[300];
			int f;

			snprintf(path, sizeof path, "%s/http-request", tmpdir);
			if ((f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
				write_all(f, buf, (size_t)len);
				close(f);
			}
		}
		len = snprintf(buf, sizeof buf,
		    "HTTP/1.1 200 Connection established\r\nX-Note: hi\r\n\r\n%s", banner);
		write_all(fd, buf, (size_t)len);
		msleep(2000);
		break;
	case FAKE_HTTP_SLOW:
		if (read_head(fd, buf, sizeof buf) == -1)
			break;
		write_all(fd, "HTTP/1.0 2", 10);
		msleep(30);
		write_all(fd, "00 OK\r", 6);
		msleep(30);
		write_all(fd, "\nA: b\r\n\r", 8);
		msleep(30);
		write_all(fd, "\n", 1);
		msleep(30);
		write_all(fd, banner, sizeof banner - 1);
		msleep(2000);
		break;
	}
}

/* A fake server in a child process; one grandchild per connection, which the server
 * kills and reaps itself when the test stops it (so none is left to init). */
static volatile sig_atomic_t fake_stop;

static void
fake_on_term(int sig)
{
	fake_stop = 1;
}

static void
fake_loop(enum fake kind, int lfd)
{
	struct sigaction sa;
	pid_t conns[64], pid;
	int i, n = 0, cfd;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fake_on_term; /* no SA_RESTART: accept returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	while (!fake_stop) {
		/* reap finished connections, keep the live ones to kill at the end */
		for (i = 0; i < n; i++) {
			if (waitpid(conns[i], NULL, WNOHANG) == conns[i])
				conns[i--] = conns[--n];
		}
		if ((cfd = accept(lfd, NULL, NULL)) == -1)
			continue;
		if (n == (int)(sizeof conns / sizeof conns[0]) || (pid = fork()) == -1) {
			close(cfd);
			continue;
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			close(lfd);
			alarm(20);
			fake_serve(kind, cfd);
			close(cfd);
			_exit(0);
		}
		conns[n++] = pid;
		close(cfd);
	}
	for (i = 0; i < n; i++)
		kill(conns[i], SIGTERM);
	for (i = 0; i < n; i++)
		while (waitpid(conns[i], NULL, 0) == -1 && errno == EINTR)
			;
	_exit(0);
}

static int
fake_start(enum fake kind)
{
	int lfd, fd, port = 0;
	pid_t pid;

	if ((lfd = listen_local(16, &port)) == -1)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == -1) {
		close(lfd);
		return -1;
	}
	if (pid == 0) {
		/* Never hold the runner's output open. */
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fake_loop(kind, lfd);
	}
	close(lfd);
	child_add(pid);
	return port;
}

/* Wait until something accepts on 127.0.0.1:port (a daemon we started). */
static int
wait_port(int port)
{
	struct sockaddr_in sin;
	int fd, i, rc;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	for (i = 0; i < 100; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
		close(fd);
		if (rc == 0)
			return 0;
		msleep(50);
	}
	return -1;
}

static pid_t
spawn(char *const argv[], const char *logname)
{
	char path[300];
	pid_t pid;
	int fd;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, logname);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	child_add(pid);
	return pid;
}

static int
have_program(const char *name)
{
	char path[512];
	const char *dirs[] = { "/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", NULL };
	int i;

	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return 1;
	}
	return 0;
}

struct result {
	int done;
	int calls;
	int fd;
	char err[512];
	char steps[4096];
};

static void
on_progress(const char *step, void *arg)
{
	struct result *r = arg;
	size_t n = strlen(r->steps);

	snprintf(r->steps + n, sizeof r->steps - n, "%s\n", step);
}

static void
on_done(int fd, const char *error, void *arg)
{
	struct result *r = arg;

	r->done = 1;
	r->calls++;
	r->fd = fd;
	snprintf(r->err, sizeof r->err, "%s", error != NULL ? error : "");
}

static void
safety_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Run one proxy_connect to the end (or a 15 s safety stop); returns elapsed ms. */
static long
run(enum proxy_type type, const char *phost, int pport, const char *user, const char *pass,
    const char *host, int port, int timeout_ms, struct result *r)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct proxy_spec spec = { type, phost, pport, user, pass, 0 };
	struct proxy_conn *pc;
	struct timespec t0, t1;
	ev_timer safety;

	memset(r, 0, sizeof *r);
	r->fd = -2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pc = proxy_connect(loop, &spec, host, port, timeout_ms, on_progress, on_done, r);
	CHECK(pc != NULL);
	/* done never runs inside proxy_connect */
	CHECK_INT(r->calls, 0);
	ev_timer_init(&safety, safety_cb, 15., 0.);
	ev_timer_start(loop, &safety);
	while (!r->done && ev_run(loop, EVRUN_ONCE))
		;
	ev_timer_stop(loop, &safety);
	ev_loop_destroy(loop);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(r->calls, 1);
	return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

/* Read what the target sent first, with a timeout. */
static int
read_some(int fd, char *buf, size_t size, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t n = 0;
	ssize_t r;

	buf[0] = '\0';
	while (n + 1 < size && poll(&pfd, 1, ms) == 1) {
		if ((r = recv(fd, buf + n, size - 1 - n, 0)) <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	return (int)n;
}

/* A connected fd: the right flags, the target's banner first, then an echo. */
static void
check_tunnel(struct result *r, int echo)
{
	char buf[256];
	int one = 0;
	socklen_t len = sizeof one;

	CHECK_STR(r->err, "");
	CHECK(r->fd >= 0);
	if (r->fd < 0)
		return;
	CHECK(fcntl(r->fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(r->fd, F_GETFL) & O_NONBLOCK);
	CHECK(getsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, &len) == 0 && one);
	one = 0;
	CHECK(getsockopt(r->fd, SOL_SOCKET, SO_KEEPALIVE, &one, &len) == 0 && one);
	read_some(r->fd, buf, sizeof buf, 3000);
	CHECK_STR(buf, banner);
	if (echo) {
		CHECK_INT(send(r->fd, "ping\n", 5, MSG_NOSIGNAL), 5);
		read_some(r->fd, buf, sizeof buf, 3000);
		CHECK_STR(buf, "ping\n");
	}
	close(r->fd);
}

static int target_port;

/* ---- driver: direct ---------------------------------------------------------------- */

static void
test_direct(void)
{
	struct result r;

	run(PROXY_NONE, NULL, 0, NULL, NULL, "127.0.0.1", target_port, 3000, &r);
	check_tunnel(&r, 1);
	CHECK_HAS(r.steps, "connecting to 127.0.0.1:");
	/* "localhost" may give ::1 first, where nothing listens: the next address works */
	run(PROXY_NONE, NULL, 0, NULL, NULL, "localhost", target_port, 3000, &r);
	check_tunnel(&r, 0);
	/* Again: the address that worked is tried at once, while the name resolves. */
	run(PROXY_NONE, NULL, 0, NULL, NULL, "localhost", target_port, 3000, &r);
	check_tunnel(&r, 1);
	CHECK_HAS(r.steps, "trying the last good address of localhost while it resolves");
}

/* A remembered address that no longer works: the lookup's addresses follow. */
static void
test_recall_stale(void)
{
	struct sockaddr_in sin;
	struct result r;
	char port[16];

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2: nothing listens there */
	sin.sin_port = htons((uint16_t)target_port);
	snprintf(port, sizeof port, "%d", target_port);
	resolve_remember("localhost", port, (struct sockaddr *)&sin, sizeof sin);
	run(PROXY_NONE, NULL, 0, NULL, NULL, "localhost", target_port, 3000, &r);
	CHECK_HAS(r.steps, "trying the last good address of localhost while it resolves");
	CHECK_HAS(r.steps, "(127.0.0.2)");
	check_tunnel(&r, 1);
}

static void
test_direct_failures(void)
{
	struct result r;
	char want[128];
	int port, lfd, filler, lport = 0;
	struct sockaddr_in sin;
	struct pollfd pfd;
	long ms;

	port = free_port();
	run(PROXY_NONE, NULL, 0, NULL, NULL, "127.0.0.1", port, 3000, &r);
	snprintf(want, sizeof want, "connection to 127.0.0.1:%d refused", port);
	CHECK_STR(r.err, want);
	CHECK_INT(r.fd, -1);

	/* Only where a failed lookup cannot reach a DNS server off this machine. */
	if (getenv("MOSHMAN_NET_ISOLATED") != NULL) {
		run(PROXY_NONE, NULL, 0, NULL, NULL, "nohost.invalid", 22, 3000, &r);
		CHECK_HAS(r.err, "cannot resolve nohost.invalid: ");
	}

	run(PROXY_NONE, NULL, 0, NULL, NULL, "127.0.0.1", 0, 3000, &r);
	CHECK_HAS(r.err, "bad port 0");
	run(PROXY_NONE, NULL, 0, NULL, NULL, "", 22, 3000, &r);
	CHECK_HAS(r.err, "no host");

	/* A full accept queue drops SYNs: the connect itself times out. */
	lfd = listen_local(0, &lport);
	CHECK(lfd != -1);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)lport);
	connect(filler, (struct sockaddr *)&sin, sizeof sin);
	/* Writable once its handshake is done and it holds the queue's one place. */
	pfd.fd = filler;
	pfd.events = POLLOUT;
	CHECK_INT(poll(&pfd, 1, 2000), 1);
	ms = run(PROXY_NONE, NULL, 0, NULL, NULL, "127.0.0.1", lport, 700, &r);
	snprintf(want, sizeof want, "connection to 127.0.0.1:%d timed out after 0.7 s", lport);
	CHECK_STR(r.err, want);
	CHECK(ms >= 650 && ms < 3000);
	close(filler);
	close(lfd);
}

/* ---- driver: fake proxies ---------------------------------------------------------- */

static void
test_fake_socks(void)
{
	struct result r;
	int port;
	long ms;

	port = fake_start(FAKE_SOCKS_SPLIT);
	run(PROXY_SOCKS5H, "127.0.0.1", port, NULL, NULL, "target.example", 22, 5000, &r);
	check_tunnel(&r, 0);
	CHECK_HAS(r.steps, "connecting to socks5h proxy 127.0.0.1:");
	CHECK_HAS(r.steps, "proxy handshake");
	CHECK_HAS(r.steps, "proxy CONNECT to target.example:22");

	port = fake_start(FAKE_SOCKS_REFUSED);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", 22, 5000, &r);
	CHECK_HAS(r.err,
	    "proxy refused: connection refused by destination (socks5 proxy "
	    "127.0.0.1:");
	CHECK_HAS(r.err, ", target 127.0.0.1:22)");
	CHECK_INT(r.fd, -1);

	/* closed without reading the greeting: a reset, or a close if it raced */
	port = fake_start(FAKE_CLOSE);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", 22, 5000, &r);
	CHECK_HAS(r.err, "the connection during the handshake");

	port = fake_start(FAKE_SOCKS_CLOSE_MID);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", 22, 5000, &r);
	CHECK_HAS(r.err, "socks5 proxy 127.0.0.1:");
	CHECK_HAS(r.err, "closed the connection during the handshake");

	port = fake_start(FAKE_GARBAGE);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", 22, 5000, &r);
	CHECK_HAS(r.err, "not a SOCKS5 proxy (reply version 104)");

	port = fake_start(FAKE_SILENT);
	ms = run(PROXY_SOCKS5, "127.0.0.1", port, "u", "hunter2-secret", "127.0.0.1", 22, 600, &r);
	CHECK_HAS(r.err, "did not complete the handshake within 0.6 s");
	CHECK(ms >= 550 && ms < 3000);
	CHECK(strstr(r.err, "hunter2") == NULL);
	CHECK(strstr(r.steps, "hunter2") == NULL);

	/* an HTTP proxy spoken to as SOCKS5 */
	port = fake_start(FAKE_HTTP_LEFTOVER);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", 22, 2000, &r);
	CHECK(r.fd == -1);
}

static void
test_fake_http(void)
{
	char path[300], req[1024];
	struct result r;
	int port, fd, n;

	port = fake_start(FAKE_HTTP_LEFTOVER);
	run(PROXY_HTTP, "127.0.0.1", port, "user", "pass", "10.9.8.7", 2222, 5000, &r);
	/* the banner came in the same segment as the head: it must not be lost */
	check_tunnel(&r, 0);
	snprintf(path, sizeof path, "%s/http-request", tmpdir);
	req[0] = '\0';
	if ((fd = open(path, O_RDONLY)) != -1) {
		n = (int)read(fd, req, sizeof req - 1);
		req[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	CHECK_STR(req,
	    "CONNECT 10.9.8.7:2222 HTTP/1.1\r\nHost: 10.9.8.7:2222\r\n"
	    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");

	port = fake_start(FAKE_HTTP_SLOW);
	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "10.9.8.7", 22, 5000, &r);
	check_tunnel(&r, 0);

	port = fake_start(FAKE_GARBAGE);
	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "10.9.8.7", 22, 5000, &r);
	CHECK_HAS(r.err, "not an HTTP proxy (reply starts \"hello, this is not a proxy\")");

	/* an ssh server where the proxy should be */
	run(PROXY_HTTP, "127.0.0.1", target_port, NULL, NULL, "10.9.8.7", 22, 5000, &r);
	CHECK_HAS(r.err, "not an HTTP proxy (it is an ssh server");

	port = fake_start(FAKE_CLOSE);
	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "10.9.8.7", 22, 5000, &r);
	CHECK_HAS(r.err, "http proxy 127.0.0.1:");
	CHECK_HAS(r.err, "the connection during the handshake");

	port = free_port();
	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "10.9.8.7", 22, 5000, &r);
	CHECK_HAS(r.err, "connection to http proxy 127.0.0.1:");
	CHECK_HAS(r.err, " refused");

	if (getenv("MOSHMAN_NET_ISOLATED") != NULL) {
		run(PROXY_HTTP, "nohost.invalid", 3128, NULL, NULL, "10.9.8.7", 22, 5000, &r);
		CHECK_HAS(r.err, "cannot resolve proxy nohost.invalid: ");
	}

	/* socks5 resolves the target here: an unresolvable target fails before connecting */
	if (getenv("MOSHMAN_NET_ISOLATED") != NULL) {
		run(PROXY_SOCKS5, "127.0.0.1", target_port, NULL, NULL, "nohost.invalid", 22, 5000,
		    &r);
		CHECK_HAS(r.err, "cannot resolve nohost.invalid: ");
	}
}

/* done is never called after proxy_cancel, and nothing leaks an fd. */
static int cancel_fired;

static void
cancel_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	proxy_cancel(w->data);
	cancel_fired = 1;
}

static int
count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
test_cancel(void)
{
	struct proxy_spec spec = { PROXY_SOCKS5, "127.0.0.1", 0, NULL, NULL, 0 };
	struct ev_loop *loop = NULL;
	struct result r;
	ev_timer t, end;
	int before;

	spec.port = fake_start(FAKE_SILENT);
	memset(&r, 0, sizeof r);
	/* A lookup cancelled by an earlier test closes its pipe when getaddrinfo returns. */
	for (int i = 0; i < 500 && resolve_pending() > 0; i++)
		usleep(10000);
	before = count_fds();
	loop = ev_loop_new(EVFLAG_AUTO);
	/* cancelled before it even started */
	proxy_cancel(proxy_connect(loop, &spec, "127.0.0.1", 22, 5000, NULL, on_done, &r));
	/* cancelled while waiting for the proxy */
	ev_timer_init(&t, cancel_cb, 0.2, 0.);
	t.data = proxy_connect(loop, &spec, "127.0.0.1", 22, 1000, NULL, on_done, &r);
	ev_timer_start(loop, &t);
	ev_timer_init(&end, safety_cb, 1.5, 0.);
	ev_timer_start(loop, &end);
	ev_run(loop, 0);
	CHECK(cancel_fired);
	CHECK_INT(r.calls, 0);
	ev_loop_destroy(loop);
	CHECK_INT(count_fds(), before);
	proxy_cancel(NULL);
}

/* ---- driver: real microsocks and tinyproxy ----------------------------------------- */

static void
test_microsocks(void)
{
	char port_s[16], aport_s[16];
	struct result r;
	int port, aport;

	if (!have_program("microsocks")) {
		printf("    microsocks is not installed (make deps-test installs it)\n");
		unit_case_failed = 1;
		return;
	}
	port = free_port();
	aport = free_port();
	snprintf(port_s, sizeof port_s, "%d", port);
	snprintf(aport_s, sizeof aport_s, "%d", aport);
	{
		char *a1[] = { "microsocks", "-i", "127.0.0.1", "-p", port_s, NULL };
		char *a2[] = { "microsocks", "-i", "127.0.0.1", "-p", aport_s, "-u", "moshuser",
			"-P", "pa:ss w0rd", NULL };

		spawn(a1, "microsocks.log");
		spawn(a2, "microsocks-auth.log");
	}
	CHECK_INT(wait_port(port), 0);
	CHECK_INT(wait_port(aport), 0);

	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", target_port, 5000, &r);
	check_tunnel(&r, 1);
	run(PROXY_SOCKS5H, "127.0.0.1", port, NULL, NULL, "localhost", target_port, 5000, &r);
	if (r.fd < 0) /* microsocks may try ::1 only: then the name was sent, fine */
		CHECK_HAS(r.err, "proxy refused");
	else
		check_tunnel(&r, 0);
	run(PROXY_SOCKS5, "127.0.0.1", port, NULL, NULL, "127.0.0.1", free_port(), 5000, &r);
	CHECK_HAS(r.err, "proxy refused: connection refused by destination");

	run(PROXY_SOCKS5, "127.0.0.1", aport, "moshuser", "pa:ss w0rd", "127.0.0.1", target_port,
	    5000, &r);
	check_tunnel(&r, 1);
	CHECK_HAS(r.steps, "proxy authentication as moshuser");
	CHECK(strstr(r.steps, "w0rd") == NULL);
	run(PROXY_SOCKS5, "127.0.0.1", aport, "moshuser", "wrong-secret", "127.0.0.1", target_port,
	    5000, &r);
	CHECK_HAS(r.err, "proxy rejected username/password");
	CHECK(strstr(r.err, "wrong-secret") == NULL);
	run(PROXY_SOCKS5, "127.0.0.1", aport, NULL, NULL, "127.0.0.1", target_port, 5000, &r);
	CHECK_HAS(r.err, "proxy requires authentication we do not have");
}

static int
tinyproxy_start(const char *name, const char *extra)
{
	char conf[300], logname[64];
	int port, fd;
	FILE *f;

	port = free_port();
	snprintf(conf, sizeof conf, "%s/%s.conf", tmpdir, name);
	if ((fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f,
	    "Port %d\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n"
	    "ConnectPort %d\nMaxClients 20\nLogLevel Info\n%s",
	    port, target_port, extra);
	fclose(f);
	snprintf(logname, sizeof logname, "%s.log", name);
	{
		char *argv[] = { "tinyproxy", "-d", "-c", conf, NULL };

		spawn(argv, logname);
	}
	return wait_port(port) == 0 ? port : -1;
}

static void
test_tinyproxy(void)
{
	struct result r;
	int port, aport;

	if (!have_program("tinyproxy")) {
		printf("    tinyproxy is not installed (make deps-test installs it)\n");
		unit_case_failed = 1;
		return;
	}
	port = tinyproxy_start("tinyproxy", "");
	aport = tinyproxy_start("tinyproxy-auth", "BasicAuth moshuser s3cr3t-pw\n");
	CHECK(port > 0 && aport > 0);

	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "127.0.0.1", target_port, 5000, &r);
	check_tunnel(&r, 1);
	/* a port ConnectPort does not allow */
	run(PROXY_HTTP, "127.0.0.1", port, NULL, NULL, "127.0.0.1", free_port(), 5000, &r);
	CHECK_HAS(r.err, "proxy answered 403");

	run(PROXY_HTTP, "127.0.0.1", aport, "moshuser", "s3cr3t-pw", "127.0.0.1", target_port, 5000,
	    &r);
	check_tunnel(&r, 1);
	run(PROXY_HTTP, "127.0.0.1", aport, "moshuser", "wrong-pw", "127.0.0.1", target_port, 5000,
	    &r);
	/* tinyproxy says 401 here (407 when no credentials came) */
	CHECK_HAS(r.err, "proxy rejected the credentials (40");
	CHECK(strstr(r.err, "wrong-pw") == NULL);
	run(PROXY_HTTP, "127.0.0.1", aport, NULL, NULL, "127.0.0.1", target_port, 5000, &r);
	CHECK_HAS(r.err, "proxy wants authentication (407");
}

/* ---- client mode for the e2e script ------------------------------------------------ */

static int
client_main(int argc, char **argv)
{
	struct result r;
	enum proxy_type type;
	const char *user;
	char buf[512];

	if (argc < 7) {
		fprintf(stderr, "usage: test_proxy connect TYPE PHOST PPORT HOST PORT [MS]\n");
		return 2;
	}
	type = proxy_type_from_name(argv[2]);
	if ((int)type == -1) {
		fprintf(stderr, "unknown proxy type %s\n", argv[2]);
		return 2;
	}
	if ((user = getenv("MOSHMAN_TEST_PROXY_USER")) != NULL && *user == '\0')
		user = NULL;
	run(type, argv[3], atoi(argv[4]), user, getenv("MOSHMAN_TEST_PROXY_PASS"), argv[5],
	    atoi(argv[6]), argc > 7 ? atoi(argv[7]) : 5000, &r);
	fputs(r.steps, stderr);
	if (r.fd < 0) {
		printf("error: %s\n", r.err);
		return 1;
	}
	read_some(r.fd, buf, sizeof buf, 5000);
	printf("connected\n%s", buf);
	close(r.fd);
	return 0;
}

/* A fake proxy in the foreground until SIGTERM; it reaps its connections itself. */
static int
fake_main(const char *kind, int port)
{
	static const struct {
		const char *name;
		enum fake kind;
	} kinds[] = {
		{ "silent", FAKE_SILENT },
		{ "close-mid", FAKE_SOCKS_CLOSE_MID },
		{ "garbage", FAKE_GARBAGE },
		{ "target", FAKE_TARGET },
	};
	size_t i;
	int lfd;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(kind, kinds[i].name) != 0)
			continue;
		if ((lfd = listen_local(16, &port)) == -1) {
			fprintf(stderr, "cannot listen on 127.0.0.1:%d: %s\n", port,
			    strerror(errno));
			return 1;
		}
		fake_loop(kinds[i].kind, lfd);
	}
	fprintf(stderr, "unknown fake %s\n", kind);
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "connect") == 0)
		return client_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "freeport") == 0) {
		printf("%d\n", free_port());
		return 0;
	}
	if (argc > 3 && strcmp(argv[1], "fake") == 0)
		return fake_main(argv[2], atoi(argv[3]));

	UNIT_BEGIN("test_proxy");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	RUN(test_type_names);
	RUN(test_socks5_greeting_method);
	RUN(test_socks5_auth);
	RUN(test_socks5_connect_request);
	RUN(test_socks5_connect_reply);
	RUN(test_base64);
	RUN(test_http_request);
	RUN(test_http_response);

	if (mkdtemp(tmpdir) == NULL) {
		printf("not ok - test_proxy: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	target_port = fake_start(FAKE_TARGET);
	RUN(test_direct);
	RUN(test_direct_failures);
	RUN(test_recall_stale);
	RUN(test_fake_socks);
	RUN(test_fake_http);
	RUN(test_cancel);
	RUN(test_microsocks);
	RUN(test_tinyproxy);
	children_kill();
	{
		char cmd[400];

		/* only our own temp dir, by its exact name */
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	UNIT_END();
}

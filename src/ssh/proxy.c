/* SPDX-License-Identifier: MIT */
/*
 * Proxies: the SOCKS5 and HTTP CONNECT codecs (pure, no I/O) and a libev driver that
 * connects directly or through one proxy.
 *
 * The driver reads every reply with MSG_PEEK, lets the pure parser decide how long the
 * message is, and then consumes exactly that many bytes.  So whatever the far end sends
 * right after the proxy's reply (an ssh server speaks first: its banner) stays in the
 * socket for the next owner, and no leftover buffer has to be handed over.  While a reply
 * is incomplete every peeked byte belongs to it, so those are consumed at once and the
 * level-triggered watcher does not spin on them.
 */
#include "src/ssh/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "src/ssh/resolve.h"
#include "src/util/log.h"
#include "src/util/xmalloc.h"

enum proxy_type
proxy_type_from_name(const char *name)
{
	if (name == NULL || strcasecmp(name, "none") == 0)
		return PROXY_NONE;
	if (strcasecmp(name, "socks5") == 0)
		return PROXY_SOCKS5;
	if (strcasecmp(name, "socks5h") == 0)
		return PROXY_SOCKS5H;
	if (strcasecmp(name, "http") == 0)
		return PROXY_HTTP;
	return PROXY_INVALID;
}

const char *
proxy_type_name(enum proxy_type type)
{
	switch (type) {
	case PROXY_INVALID:
		break;
	case PROXY_NONE:
		return "none";
	case PROXY_SOCKS5:
		return "socks5";
	case PROXY_SOCKS5H:
		return "socks5h";
	case PROXY_HTTP:
		return "http";
	}
	return "?";
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Quote up to max bytes of what a peer sent, printable ASCII only, for an error line. */
static void
printable(char *out, size_t outsz, const char *in, size_t len, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < len && i < max && n + 1 < outsz; i++) {
		if (in[i] == '\r' || in[i] == '\n')
			break;
		out[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	}
	out[n] = '\0';
}

/* "host:port", with an IPv6 literal in brackets. */
static const char *
host_port(char *buf, size_t size, const char *host, int port)
{
	int v6 = strchr(host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
	return buf;
}

/* ---- SOCKS5 ---------------------------------------------------------------------- */

size_t
proxy_socks5_greeting(uint8_t out[PROXY_SOCKS5_GREETING_MAX], int with_auth)
{
	out[0] = 5;
	if (!with_auth) {
		out[1] = 1;
		out[2] = PROXY_SOCKS5_METHOD_NONE;
		return 3;
	}
	out[1] = 2;
	out[2] = PROXY_SOCKS5_METHOD_NONE;
	out[3] = PROXY_SOCKS5_METHOD_USERPASS;
	return 4;
}

/* A first byte that is not 5: say what the peer looks like instead. */
static void
not_socks5(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len >= 4 && memcmp(buf, "HTTP", 4) == 0)
		seterr(err, errlen, "not a SOCKS5 proxy (it answered like an HTTP server)");
	else if (len >= 4 && memcmp(buf, "SSH-", 4) == 0)
		seterr(err, errlen, "not a SOCKS5 proxy (it is an ssh server)");
	else
		seterr(err, errlen, "not a SOCKS5 proxy (reply version %u)", buf[0]);
}

int
proxy_socks5_parse_method(const uint8_t *buf, size_t len, int offered_auth, int *method, char *err,
    size_t errlen)
{
	if (len < 1)
		return PROXY_NEED_MORE;
	if (buf[0] != 5) {
		not_socks5(buf, len, err, errlen);
		return PROXY_ERROR;
	}
	if (len < 2)
		return PROXY_NEED_MORE;
	if (method != NULL)
		*method = buf[1];
	if (buf[1] == PROXY_SOCKS5_METHOD_NONE)
		return 2;
	if (buf[1] == PROXY_SOCKS5_METHOD_USERPASS && offered_auth)
		return 2;
	if (buf[1] == 0xff && !offered_auth)
		seterr(err, errlen, "proxy requires authentication we do not have");
	else if (buf[1] == 0xff)
		seterr(err, errlen, "proxy accepts none of our authentication methods");
	else
		seterr(err, errlen, "proxy chose an authentication method we did not offer (%u)",
		    buf[1]);
	return PROXY_ERROR;
}

int
proxy_socks5_auth_request(uint8_t out[PROXY_SOCKS5_AUTH_MAX], const char *user, const char *pass,
    char *err, size_t errlen)
{
	size_t ulen, plen;

	if (user == NULL || (ulen = strlen(user)) == 0) {
		seterr(err, errlen, "SOCKS5 user name is empty");
		return -1;
	}
	if (pass == NULL)
		pass = "";
	plen = strlen(pass);
	if (ulen > 255) {
		seterr(err, errlen, "SOCKS5 user name is longer than 255 bytes");
		return -1;
	}
	if (plen > 255) {
		seterr(err, errlen, "SOCKS5 password is longer than 255 bytes");
		return -1;
	}
	out[0] = 1;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return (int)(3 + ulen + plen);
}

int
proxy_socks5_parse_auth(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len < 2)
		return PROXY_NEED_MORE;
	/* RFC 1929 says version 1; some servers echo the SOCKS version 5. */
	if (buf[0] != 1 && buf[0] != 5) {
		seterr(err, errlen, "bad SOCKS5 authentication reply (version %u)", buf[0]);
		return PROXY_ERROR;
	}
	if (buf[1] != 0) {
		seterr(err, errlen, "proxy rejected username/password");
		return PROXY_ERROR;
	}
	return 2;
}

int
proxy_socks5_connect_request(uint8_t out[PROXY_SOCKS5_CONNECT_MAX], const char *host, int port,
    int allow_name, char *err, size_t errlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = 4, hlen;
	char shown[80];

	if (port < 1 || port > 65535) {
		seterr(err, errlen, "bad port %d", port);
		return -1;
	}
	out[0] = 5;
	out[1] = 1; /* CONNECT */
	out[2] = 0;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		out[3] = 1;
		memcpy(out + n, &a4, 4);
		n += 4;
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		out[3] = 4;
		memcpy(out + n, &a6, 16);
		n += 16;
	} else if (!allow_name) {
		printable(shown, sizeof shown, host, strlen(host), 64);
		seterr(err, errlen, "%s is not an IP address (socks5 resolves names locally)",
		    shown);
		return -1;
	} else {
		hlen = strlen(host);
		if (hlen == 0 || hlen > 255) {
			seterr(err, errlen, "host name must be 1 to 255 bytes for SOCKS5");
			return -1;
		}
		out[3] = 3;
		out[n++] = (uint8_t)hlen;
		memcpy(out + n, host, hlen);
		n += hlen;
	}
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)(port & 0xff);
	return (int)n;
}

const char *
proxy_socks5_rep_message(int rep)
{
	switch (rep) {
	case 0:
		return "succeeded";
	case 1:
		return "proxy refused: general SOCKS server failure";
	case 2:
		return "proxy refused: connection not allowed by its rules";
	case 3:
		return "proxy refused: network unreachable";
	case 4:
		return "proxy refused: host unreachable";
	case 5:
		return "proxy refused: connection refused by destination";
	case 6:
		return "proxy refused: TTL expired";
	case 7:
		return "proxy refused: command not supported";
	case 8:
		return "proxy refused: address type not supported";
	}
	return "proxy refused: unknown reply code";
}

int
proxy_socks5_parse_connect(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	size_t need;

	if (len < 1)
		return PROXY_NEED_MORE;
	if (buf[0] != 5) {
		not_socks5(buf, len, err, errlen);
		return PROXY_ERROR;
	}
	if (len < 2)
		return PROXY_NEED_MORE;
	if (buf[1] != 0) {
		if (buf[1] > 8)
			seterr(err, errlen, "%s %u", proxy_socks5_rep_message(buf[1]), buf[1]);
		else
			seterr(err, errlen, "%s", proxy_socks5_rep_message(buf[1]));
		return PROXY_ERROR;
	}
	if (len < 4)
		return PROXY_NEED_MORE;
	switch (buf[3]) {
	case 1:
		need = 4 + 4 + 2;
		break;
	case 4:
		need = 4 + 16 + 2;
		break;
	case 3:
		if (len < 5)
			return PROXY_NEED_MORE;
		need = 4 + 1 + buf[4] + 2;
		break;
	default:
		seterr(err, errlen, "bad SOCKS5 reply (address type %u)", buf[3]);
		return PROXY_ERROR;
	}
	if (len < need)
		return PROXY_NEED_MORE;
	return (int)need;
}

/* ---- HTTP CONNECT ------------------------------------------------------------------ */

char *
proxy_base64(const void *in, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = in;
	char *out, *o;
	uint32_t v;
	size_t i;

	out = o = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
http_token_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

char *
proxy_http_request(const char *host, int port, const char *user, const char *pass, char *err,
    size_t errlen)
{
	char *auth = NULL, *cred = NULL, *creds64 = NULL, *req = NULL, hostport[300];

	if (port < 1 || port > 65535) {
		seterr(err, errlen, "bad port %d", port);
		goto out;
	}
	if (host == NULL || *host == '\0' || strlen(host) > 255 || !http_token_ok(host)) {
		seterr(err, errlen, "bad host name for HTTP CONNECT");
		goto out;
	}
	host_port(hostport, sizeof hostport, host, port);
	if (user != NULL) {
		if (strchr(user, ':') != NULL) {
			seterr(err, errlen, "HTTP proxy user name must not contain ':'");
			goto out;
		}
		xasprintf(&cred, "%s:%s", user, pass != NULL ? pass : "");
		creds64 = proxy_base64(cred, strlen(cred));
		xasprintf(&auth, "Proxy-Authorization: Basic %s\r\n", creds64);
	}
	xasprintf(&req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", hostport, hostport,
	    auth != NULL ? auth : "");
out:
	xfree_secret(cred);
	xfree_secret(creds64);
	xfree_secret(auth);
	return req;
}

/* Where the head ends: just past the empty line (CRLF or a bare LF), or 0. */
static size_t
http_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
proxy_http_parse_response(const char *buf, size_t len, int sent_auth, int *status, char *err,
    size_t errlen)
{
	static const char proto[] = "HTTP/";
	const char *nl, *reason;
	char seen[64], why[96];
	size_t n, end, rlen;
	int code;

	if (status != NULL)
		*status = 0;
	/* Fail on the first byte that cannot start "HTTP/d.d ": HTTP/0.9 and other
	 * protocols have no status line, and waiting for a CRLFCRLF that never comes would
	 * only turn a clear error into a timeout. */
	n = len < 5 ? len : 5;
	if (memcmp(buf, proto, n) != 0)
		goto not_http;
	if (len >= 6 && !(buf[5] >= '0' && buf[5] <= '9'))
		goto not_http;
	if (len >= 7 && buf[6] != '.')
		goto not_http;
	if (len >= 8 && !(buf[7] >= '0' && buf[7] <= '9'))
		goto not_http;
	if (len >= 9 && buf[8] != ' ')
		goto not_http;
	if (len >= 8 && buf[5] == '0') {
		seterr(err, errlen, "proxy answered with HTTP/0.%c, which cannot tunnel", buf[7]);
		return PROXY_ERROR;
	}
	if ((nl = memchr(buf, '\n', len)) == NULL) {
		if (len >= PROXY_HTTP_HEAD_MAX)
			goto too_long;
		return PROXY_NEED_MORE;
	}
	/* Status line: "HTTP/1.1 200[ reason]". */
	if ((size_t)(nl - buf) < 12 || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' ||
	    buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n'))
		goto not_http;
	code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (status != NULL)
		*status = code;
	if (code / 100 != 2) {
		reason = buf + 12;
		while (reason < nl && *reason == ' ')
			reason++;
		rlen = (size_t)(nl - reason);
		printable(why, sizeof why, reason, rlen, 80);
		/* tinyproxy answers wrong credentials with 401, missing ones with 407. */
		if ((code == 407 || code == 401) && sent_auth)
			seterr(err, errlen, "proxy rejected the credentials (%d %s)", code, why);
		else if (code == 407 || code == 401)
			seterr(err, errlen, "proxy wants authentication (%d %s)", code, why);
		else if (why[0] != '\0')
			seterr(err, errlen, "proxy answered %d %s", code, why);
		else
			seterr(err, errlen, "proxy answered %d", code);
		return PROXY_ERROR;
	}
	end = http_head_end(buf, len < PROXY_HTTP_HEAD_MAX ? len : PROXY_HTTP_HEAD_MAX);
	if (end == 0) {
		if (len >= PROXY_HTTP_HEAD_MAX)
			goto too_long;
		return PROXY_NEED_MORE;
	}
	return (int)end;

too_long:
	seterr(err, errlen, "proxy's reply head is longer than %d bytes", PROXY_HTTP_HEAD_MAX);
	return PROXY_ERROR;
not_http:
	printable(seen, sizeof seen, buf, len, 40);
	if (len >= 4 && memcmp(buf, "SSH-", 4) == 0)
		seterr(err, errlen, "not an HTTP proxy (it is an ssh server: \"%s\")", seen);
	else if (len >= 1 && buf[0] == 5)
		seterr(err, errlen, "not an HTTP proxy (it answered like a SOCKS5 proxy)");
	else
		seterr(err, errlen, "not an HTTP proxy (reply starts \"%s\")", seen);
	return PROXY_ERROR;
}

/* ---- the driver ---------------------------------------------------------------------- */

enum conn_state {
	ST_RESOLVING,     /* nothing to try until the first hop's name resolves */
	ST_CONNECTING,    /* TCP connect to the first hop (proxy or target) */
	ST_WRITE,         /* sending out[] */
	ST_SOCKS_METHOD,  /* reading the method choice */
	ST_SOCKS_AUTH,    /* reading the RFC 1929 reply */
	ST_SOCKS_CONNECT, /* reading the CONNECT reply */
	ST_HTTP_HEAD,     /* reading the HTTP response head */
	ST_WAIT_TARGET,   /* socks5: resolving the target, before anything else */
};

#define HOP_MAX 400 /* "socks5 proxy [host]:port" for messages */

struct proxy_conn {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer; /* the deadline of the current step */
	ev_timer later; /* runs done from the loop for failures inside proxy_connect */

	enum proxy_type type;
	char *phost; /* proxy (NULL for PROXY_NONE) */
	int pport;
	char *user;
	char *pass;  /* secret */
	char *thost; /* target */
	int tport;
	int family;     /* enum resolve_family, for the target's name */
	char *tconnect; /* what goes in the CONNECT request: a literal for socks5 */

	int timeout_ms;
	ev_tstamp deadline; /* overall */

	struct addrinfo *ai; /* first hop's addresses */
	struct addrinfo *cur;
	struct resolve *rs_hop; /* lookups in flight (src/ssh/resolve.h) */
	struct resolve *rs_target;
	int hop_resolved; /* rs_hop has answered: ai, or hop_err */
	char hop_err[256];
	char target_err[256];
	/* The first hop's last good address, tried at once while its name resolves. */
	struct addrinfo recall_ai;
	struct sockaddr_storage recall_ss;
	int on_recall; /* cur walks the one-entry recall list */
	int fd;
	int last_errno; /* of the last failed connect attempt */
	int attempt_timed_out;

	enum conn_state state;
	enum conn_state after_write;
	uint8_t out[PROXY_SOCKS5_AUTH_MAX + 16];
	char *outp; /* HTTP request (allocated) or NULL: use out[] */
	size_t outlen, outoff;
	int sent_auth;

	uint8_t in[PROXY_HTTP_HEAD_MAX];
	size_t inlen; /* bytes of the current reply already consumed */

	char error[PROXY_ERRLEN + 128];

	proxy_progress_cb progress;
	proxy_done_cb done;
	void *arg;
};

static void conn_try_next(struct proxy_conn *);
static void conn_begin(struct proxy_conn *);
static void conn_start_handshake(struct proxy_conn *);

static void
conn_progress(struct proxy_conn *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
conn_progress(struct proxy_conn *pc, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_debug("proxy: %s", line);
	if (pc->progress != NULL)
		pc->progress(line, pc->arg);
}

/* "socks5 proxy 10.0.0.1:1080" or "10.0.0.2:22", for messages. */
static const char *
conn_hop(struct proxy_conn *pc, char *buf, size_t size)
{
	char hp[300];

	if (pc->type == PROXY_NONE)
		return host_port(buf, size, pc->thost, pc->tport);
	snprintf(buf, size, "%s proxy %s", proxy_type_name(pc->type),
	    host_port(hp, sizeof hp, pc->phost, pc->pport));
	return buf;
}

static void
conn_free(struct proxy_conn *pc)
{
	ev_io_stop(pc->loop, &pc->io);
	ev_timer_stop(pc->loop, &pc->timer);
	ev_timer_stop(pc->loop, &pc->later);
	resolve_cancel(pc->rs_hop);
	resolve_cancel(pc->rs_target);
	if (pc->fd != -1)
		close(pc->fd);
	if (pc->ai != NULL)
		freeaddrinfo(pc->ai);
	free(pc->phost);
	free(pc->user);
	xfree_secret(pc->pass);
	free(pc->thost);
	free(pc->tconnect);
	xfree_secret(pc->outp);
	explicit_bzero(pc->out, sizeof pc->out);
	free(pc);
}

/* The end: hand the fd (or the error) to the owner and free everything. */
static void
conn_finish(struct proxy_conn *pc, const char *error)
{
	proxy_done_cb done = pc->done;
	void *arg = pc->arg;
	char msg[sizeof pc->error];
	int fd = -1, one = 1;

	msg[0] = '\0';
	if (error == NULL) {
		fd = pc->fd;
		pc->fd = -1;
		/* Failing to set either costs latency or liveness, not correctness. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
			log_debug("proxy: TCP_NODELAY: %s", strerror(errno));
		if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == -1)
			log_debug("proxy: SO_KEEPALIVE: %s", strerror(errno));
		log_debug("proxy: connected, fd %d", fd);
	} else {
		snprintf(msg, sizeof msg, "%s", error);
		log_debug("proxy: failed: %s", msg);
	}
	conn_free(pc);
	done(fd, fd == -1 ? msg : NULL, arg);
}

static void
conn_fail(struct proxy_conn *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
conn_fail(struct proxy_conn *pc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pc->error, sizeof pc->error, fmt, ap);
	va_end(ap);
	conn_finish(pc, pc->error);
}

/* A proxy-side error, naming the proxy and the target. */
static void
conn_fail_proxy(struct proxy_conn *pc, const char *what)
{
	char hop[HOP_MAX], target[300];

	conn_fail(pc, "%s (%s, target %s)", what, conn_hop(pc, hop, sizeof hop),
	    host_port(target, sizeof target, pc->thost, pc->tport));
}

static const char *
conn_secs(struct proxy_conn *pc, char *buf, size_t size)
{
	if (pc->timeout_ms % 1000 == 0)
		snprintf(buf, size, "%d s", pc->timeout_ms / 1000);
	else
		snprintf(buf, size, "%.1f s", pc->timeout_ms / 1000.0);
	return buf;
}

static void
conn_watch(struct proxy_conn *pc, int events)
{
	ev_io_stop(pc->loop, &pc->io);
	ev_io_set(&pc->io, pc->fd, events);
	ev_io_start(pc->loop, &pc->io);
}

static void
conn_timer(struct proxy_conn *pc, ev_tstamp after)
{
	ev_timer_stop(pc->loop, &pc->timer);
	ev_timer_set(&pc->timer, after > 0 ? after : 0.001, 0.);
	ev_timer_start(pc->loop, &pc->timer);
}

/* Every address of the first hop has failed. */
static void
conn_fail_connect(struct proxy_conn *pc)
{
	char hop[HOP_MAX], secs[32];

	conn_hop(pc, hop, sizeof hop);
	if (pc->last_errno == ECONNREFUSED)
		conn_fail(pc, "connection to %s refused", hop);
	else if (pc->last_errno == ETIMEDOUT || pc->attempt_timed_out)
		conn_fail(pc, "connection to %s timed out after %s", hop,
		    conn_secs(pc, secs, sizeof secs));
	else
		conn_fail(pc, "connection to %s failed: %s", hop, strerror(pc->last_errno));
}

static void
conn_try_next(struct proxy_conn *pc)
{
	char addr[INET6_ADDRSTRLEN], hop[HOP_MAX];
	struct addrinfo *a;
	ev_tstamp left;
	int fd, n;

	ev_io_stop(pc->loop, &pc->io);
	for (;; pc->cur = pc->cur->ai_next) {
		if (pc->cur == NULL && pc->on_recall && pc->ai != NULL) {
			/* The remembered address failed; the lookup has answered meanwhile. */
			pc->on_recall = 0;
			pc->cur = pc->ai;
		}
		if (pc->cur == NULL)
			break;
		if (!pc->on_recall && pc->recall_ai.ai_addr != NULL &&
		    pc->cur->ai_addrlen == pc->recall_ai.ai_addrlen &&
		    memcmp(pc->cur->ai_addr, pc->recall_ai.ai_addr, pc->cur->ai_addrlen) == 0)
			continue; /* tried already */
		left = pc->deadline - ev_now(pc->loop);
		if (left <= 0) {
			pc->attempt_timed_out = 1;
			break;
		}
		fd = socket(pc->cur->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    pc->cur->ai_protocol);
		if (fd == -1) {
			pc->last_errno = errno;
			continue;
		}
		if (getnameinfo(pc->cur->ai_addr, pc->cur->ai_addrlen, addr, sizeof addr, NULL, 0,
		        NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof addr, "?");
		conn_hop(pc, hop, sizeof hop);
		if (strcmp(addr, pc->type == PROXY_NONE ? pc->thost : pc->phost) == 0)
			conn_progress(pc, "connecting to %s", hop);
		else
			conn_progress(pc, "connecting to %s (%s)", hop, addr);
		if (connect(fd, pc->cur->ai_addr, pc->cur->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			pc->fd = fd;
			pc->state = ST_CONNECTING;
			/* Share what is left among the addresses still to try, so one
			 * black-holed address cannot eat the whole timeout. */
			for (n = 0, a = pc->cur; a != NULL; a = a->ai_next)
				n++;
			conn_timer(pc, pc->on_recall ? left / 2 : left / n);
			conn_watch(pc, EV_WRITE);
			return;
		}
		pc->last_errno = errno;
		close(fd);
	}
	if (!pc->hop_resolved && pc->deadline - ev_now(pc->loop) > 0) {
		/* Only the remembered address was there to try: wait for the lookup. */
		pc->state = ST_RESOLVING;
		conn_timer(pc, pc->deadline - ev_now(pc->loop));
		return;
	}
	if (pc->ai == NULL && pc->hop_err[0] != '\0') {
		conn_fail(pc, "%s", pc->hop_err);
		return;
	}
	conn_fail_connect(pc);
}

/* The current connect attempt failed: close it and go on with the next address. */
static void
conn_attempt_failed(struct proxy_conn *pc, int err, int timed_out)
{
	pc->last_errno = err;
	pc->attempt_timed_out = timed_out;
	ev_io_stop(pc->loop, &pc->io);
	close(pc->fd);
	pc->fd = -1;
	pc->cur = pc->cur->ai_next;
	conn_try_next(pc);
}

static void
conn_send(struct proxy_conn *pc, const void *buf, size_t len, enum conn_state next)
{
	if (buf != pc->out && buf != pc->outp)
		fatalx("%s: buffer", __func__);
	pc->outlen = len;
	pc->outoff = 0;
	pc->state = ST_WRITE;
	pc->after_write = next;
	pc->inlen = 0;
	conn_watch(pc, EV_WRITE);
}

static void
conn_send_connect(struct proxy_conn *pc)
{
	char err[PROXY_ERRLEN];
	int n;

	n = proxy_socks5_connect_request(pc->out, pc->tconnect, pc->tport,
	    pc->type == PROXY_SOCKS5H, err, sizeof err);
	if (n < 0) {
		conn_fail_proxy(pc, err);
		return;
	}
	conn_progress(pc, "proxy CONNECT to %s:%d", pc->tconnect, pc->tport);
	conn_send(pc, pc->out, (size_t)n, ST_SOCKS_CONNECT);
}

static void
conn_start_handshake(struct proxy_conn *pc)
{
	char err[PROXY_ERRLEN];

	conn_timer(pc, pc->deadline - ev_now(pc->loop));
	conn_progress(pc, "proxy handshake");
	switch (pc->type) {
	case PROXY_SOCKS5:
	case PROXY_SOCKS5H:
		conn_send(pc, pc->out, proxy_socks5_greeting(pc->out, pc->user != NULL),
		    ST_SOCKS_METHOD);
		break;
	case PROXY_HTTP:
		pc->outp = proxy_http_request(pc->tconnect, pc->tport, pc->user, pc->pass, err,
		    sizeof err);
		if (pc->outp == NULL) {
			conn_fail_proxy(pc, err);
			return;
		}
		pc->sent_auth = pc->user != NULL;
		conn_progress(pc, "proxy CONNECT to %s:%d", pc->tconnect, pc->tport);
		conn_send(pc, pc->outp, strlen(pc->outp), ST_HTTP_HEAD);
		break;
	case PROXY_NONE:
	case PROXY_INVALID:
		fatalx("%s: no proxy", __func__);
	}
}

static void
conn_connected(struct proxy_conn *pc)
{
	char port[16];

	ev_timer_stop(pc->loop, &pc->timer);
	snprintf(port, sizeof port, "%d", pc->type == PROXY_NONE ? pc->tport : pc->pport);
	resolve_remember(pc->type == PROXY_NONE ? pc->thost : pc->phost, port, pc->cur->ai_addr,
	    pc->cur->ai_addrlen);
	/* Connected: whatever the lookup would say no longer matters. */
	resolve_cancel(pc->rs_hop);
	pc->rs_hop = NULL;
	if (pc->type == PROXY_NONE)
		conn_finish(pc, NULL);
	else
		conn_start_handshake(pc);
}

static void
conn_write(struct proxy_conn *pc)
{
	const uint8_t *buf = pc->outp != NULL ? (const uint8_t *)pc->outp : pc->out;
	char hop[HOP_MAX];
	ssize_t n;

	n = send(pc->fd, buf + pc->outoff, pc->outlen - pc->outoff, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_fail(pc, "sending to %s failed: %s", conn_hop(pc, hop, sizeof hop),
		    strerror(errno));
		return;
	}
	pc->outoff += (size_t)n;
	if (pc->outoff < pc->outlen)
		return;
	/* The request may have held the password. */
	explicit_bzero(pc->out, sizeof pc->out);
	xfree_secret(pc->outp);
	pc->outp = NULL;
	pc->state = pc->after_write;
	conn_watch(pc, EV_READ);
}

/* Take exactly len peeked bytes out of the socket (into in[off..]). */
static int
conn_consume(struct proxy_conn *pc, size_t off, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = recv(pc->fd, pc->in + off, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* A complete reply: the next step. */
static void
conn_reply_done(struct proxy_conn *pc, int method)
{
	uint8_t *o = pc->out;
	char err[PROXY_ERRLEN];
	int n;

	switch (pc->state) {
	case ST_SOCKS_METHOD:
		if (method != PROXY_SOCKS5_METHOD_USERPASS) {
			conn_send_connect(pc);
			break;
		}
		n = proxy_socks5_auth_request(o, pc->user, pc->pass, err, sizeof err);
		if (n < 0) {
			conn_fail_proxy(pc, err);
			break;
		}
		conn_progress(pc, "proxy authentication as %s", pc->user);
		conn_send(pc, o, (size_t)n, ST_SOCKS_AUTH);
		break;
	case ST_SOCKS_AUTH:
		conn_send_connect(pc);
		break;
	case ST_SOCKS_CONNECT:
	case ST_HTTP_HEAD:
		conn_finish(pc, NULL);
		break;
	default:
		fatalx("%s: state %d", __func__, pc->state);
	}
}

static void
conn_read(struct proxy_conn *pc)
{
	char err[PROXY_ERRLEN], hop[HOP_MAX];
	size_t have;
	ssize_t n;
	int r = PROXY_ERROR, method = -1;

	n = recv(pc->fd, pc->in + pc->inlen, sizeof pc->in - pc->inlen, MSG_PEEK);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ECONNRESET)
			conn_fail(pc, "%s reset the connection during the handshake",
			    conn_hop(pc, hop, sizeof hop));
		else
			conn_fail(pc, "reading from %s failed: %s", conn_hop(pc, hop, sizeof hop),
			    strerror(errno));
		return;
	}
	if (n == 0) {
		conn_fail(pc, "%s closed the connection during the handshake",
		    conn_hop(pc, hop, sizeof hop));
		return;
	}
	have = pc->inlen + (size_t)n;
	err[0] = '\0';
	switch (pc->state) {
	case ST_SOCKS_METHOD:
		r = proxy_socks5_parse_method(pc->in, have, pc->user != NULL, &method, err,
		    sizeof err);
		break;
	case ST_SOCKS_AUTH:
		r = proxy_socks5_parse_auth(pc->in, have, err, sizeof err);
		break;
	case ST_SOCKS_CONNECT:
		r = proxy_socks5_parse_connect(pc->in, have, err, sizeof err);
		break;
	case ST_HTTP_HEAD:
		r = proxy_http_parse_response((const char *)pc->in, have, pc->sent_auth, NULL, err,
		    sizeof err);
		break;
	default:
		fatalx("%s: state %d", __func__, pc->state);
	}
	if (r == PROXY_ERROR) {
		conn_fail_proxy(pc, err);
		return;
	}
	if (r == PROXY_NEED_MORE) {
		/* All of it belongs to this reply: take it so the watcher stops firing. */
		if (have >= sizeof pc->in || conn_consume(pc, pc->inlen, (size_t)n) == -1) {
			conn_fail_proxy(pc, "cannot read the proxy's reply");
			return;
		}
		pc->inlen = have;
		return;
	}
	if ((size_t)r < pc->inlen)
		fatalx("%s: reply shrank from %zu to %d bytes", __func__, pc->inlen, r);
	if (conn_consume(pc, pc->inlen, (size_t)r - pc->inlen) == -1) {
		conn_fail_proxy(pc, "cannot read the proxy's reply");
		return;
	}
	pc->inlen = 0;
	conn_reply_done(pc, method);
}

static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct proxy_conn *pc = w->data;
	socklen_t len = sizeof(int);
	int err = 0;

	switch (pc->state) {
	case ST_CONNECTING:
		if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY || err == EINTR)
			return;
		if (err != 0)
			conn_attempt_failed(pc, err, 0);
		else
			conn_connected(pc);
		break;
	case ST_WRITE:
		conn_write(pc);
		break;
	default:
		conn_read(pc);
		break;
	}
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy_conn *pc = w->data;
	char hop[HOP_MAX], secs[32];

	if (pc->state == ST_CONNECTING) {
		conn_attempt_failed(pc, ETIMEDOUT, 1);
		return;
	}
	if (pc->state == ST_RESOLVING || pc->state == ST_WAIT_TARGET) {
		conn_fail(pc, "resolving %s took longer than %s",
		    pc->type == PROXY_NONE || pc->state == ST_WAIT_TARGET ? pc->thost : pc->phost,
		    conn_secs(pc, secs, sizeof secs));
		return;
	}
	conn_fail(pc, "%s did not complete the handshake within %s", conn_hop(pc, hop, sizeof hop),
	    conn_secs(pc, secs, sizeof secs));
}

/* socks5 (not socks5h): the proxy gets an address, resolved here (off the loop, while
 * the proxy is reached).  IPv4 first: a proxy is likelier to reach it. */
static void
conn_target_resolved(struct addrinfo *res, const char *error, void *arg)
{
	struct proxy_conn *pc = arg;
	struct addrinfo *a, *pick = NULL;
	char addr[INET6_ADDRSTRLEN];

	pc->rs_target = NULL;
	/* The profile's --family has put the addresses in the order it wants. */
	if (pc->family != RESOLVE_ALL)
		pick = res;
	for (a = res; a != NULL && pick == NULL; a = a->ai_next)
		if (a->ai_family == AF_INET)
			pick = a;
	for (a = res; a != NULL && pick == NULL; a = a->ai_next)
		if (a->ai_family == AF_INET6)
			pick = a;
	if (pick != NULL &&
	    getnameinfo(pick->ai_addr, pick->ai_addrlen, addr, sizeof addr, NULL, 0,
	        NI_NUMERICHOST) == 0)
		pc->tconnect = xstrdup(addr);
	else
		snprintf(pc->target_err, sizeof pc->target_err, "cannot resolve %s: %s", pc->thost,
		    error != NULL ? error : "no usable address");
	if (res != NULL)
		freeaddrinfo(res);
	ev_timer_stop(pc->loop, &pc->timer);
	if (pc->tconnect == NULL) {
		conn_fail(pc, "%s", pc->target_err);
		return;
	}
	conn_begin(pc);
}

/* The first hop's addresses (or why there are none). */
static void
conn_hop_resolved(struct addrinfo *res, const char *error, void *arg)
{
	struct proxy_conn *pc = arg;

	pc->rs_hop = NULL;
	pc->hop_resolved = 1;
	pc->ai = res;
	if (res == NULL)
		snprintf(pc->hop_err, sizeof pc->hop_err, "cannot resolve %s%s: %s",
		    pc->type == PROXY_NONE ? "" : "proxy ",
		    pc->type == PROXY_NONE ? pc->thost : pc->phost, error);
	if (pc->state != ST_RESOLVING)
		return; /* the remembered address is being tried; this is for after */
	ev_timer_stop(pc->loop, &pc->timer);
	if (res == NULL) {
		conn_fail(pc, "%s", pc->hop_err);
		return;
	}
	pc->on_recall = 0;
	pc->cur = pc->ai;
	conn_try_next(pc);
}

/* First step, from the loop: check, then resolve and connect. */
static void
conn_begin_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy_conn *pc = w->data;

	if (pc->thost[0] == '\0') {
		conn_fail(pc, "no host to connect to");
		return;
	}
	/* Such names never resolve, and they must not reach an error line raw. */
	if (!http_token_ok(pc->thost) || (pc->phost != NULL && !http_token_ok(pc->phost))) {
		conn_fail(pc, "bad host name (spaces or control characters)");
		return;
	}
	if (pc->tport < 1 || pc->tport > 65535) {
		conn_fail(pc, "bad port %d for %s", pc->tport, pc->thost);
		return;
	}
	if (pc->type != PROXY_NONE && (pc->phost == NULL || pc->phost[0] == '\0')) {
		conn_fail(pc, "%s proxy has no host", proxy_type_name(pc->type));
		return;
	}
	if (pc->type != PROXY_NONE && (pc->pport < 1 || pc->pport > 65535)) {
		conn_fail(pc, "bad port %d for %s proxy %s", pc->pport, proxy_type_name(pc->type),
		    pc->phost);
		return;
	}
	conn_begin(pc);
}

/* Resolve (the socks5 target, then the first hop) and start connecting. */
static void
conn_begin(struct proxy_conn *pc)
{
	struct in6_addr a6;
	socklen_t len;
	const char *host;
	char port[16];

	/* socks5: the target first, so that a name that cannot resolve fails before any
	 * proxy is bothered (conn_target_resolved comes back here). */
	if (pc->type == PROXY_SOCKS5 && pc->tconnect == NULL) {
		conn_progress(pc, "resolving %s", pc->thost);
		pc->state = ST_WAIT_TARGET;
		pc->rs_target = resolve_start_family(pc->loop, pc->thost, "0", pc->family,
		    conn_target_resolved, pc);
		conn_timer(pc, pc->deadline - ev_now(pc->loop));
		return;
	}
	if (pc->tconnect == NULL)
		pc->tconnect = xstrdup(pc->thost);
	host = pc->type == PROXY_NONE ? pc->thost : pc->phost;
	snprintf(port, sizeof port, "%d", pc->type == PROXY_NONE ? pc->tport : pc->pport);
	conn_progress(pc, "resolving %s", host);
	pc->state = ST_RESOLVING;
	pc->rs_hop = resolve_start_family(pc->loop, host, port,
	    pc->type == PROXY_NONE ? pc->family : RESOLVE_ALL, conn_hop_resolved, pc);
	/* A name that worked before: try its last address now, not after the lookup (a
	 * reconnect after a network change must not wait on a DNS server that may be
	 * unreachable for a while); only one of the family the profile allows. */
	if (inet_pton(AF_INET, host, &a6) != 1 && inet_pton(AF_INET6, host, &a6) != 1 &&
	    resolve_recall(host, port, &pc->recall_ss, &len) == 0 &&
	    (pc->type != PROXY_NONE ||
	        (pc->family != RESOLVE_AUTO &&
	            (resolve_family_hint(pc->family) == AF_UNSPEC ||
	                resolve_family_hint(pc->family) == pc->recall_ss.ss_family)))) {
		pc->recall_ai.ai_family = pc->recall_ss.ss_family;
		pc->recall_ai.ai_socktype = SOCK_STREAM;
		pc->recall_ai.ai_addr = (struct sockaddr *)&pc->recall_ss;
		pc->recall_ai.ai_addrlen = len;
		pc->on_recall = 1;
		pc->cur = &pc->recall_ai;
		conn_progress(pc, "trying the last good address of %s while it resolves", host);
		conn_try_next(pc);
		return;
	}
	conn_timer(pc, pc->deadline - ev_now(pc->loop));
}

struct proxy_conn *
proxy_connect(struct ev_loop *loop, const struct proxy_spec *spec, const char *target_host,
    int target_port, int timeout_ms, proxy_progress_cb progress, proxy_done_cb done, void *arg)
{
	struct proxy_conn *pc;

	if (done == NULL)
		fatalx("%s: no done callback", __func__);
	pc = xcalloc(1, sizeof *pc);
	pc->loop = loop;
	pc->fd = -1;
	pc->type = spec != NULL ? spec->type : PROXY_NONE;
	pc->family = spec != NULL ? spec->family : RESOLVE_ALL;
	if (pc->type != PROXY_NONE && pc->type != PROXY_SOCKS5 && pc->type != PROXY_SOCKS5H &&
	    pc->type != PROXY_HTTP)
		fatalx("%s: proxy type %d", __func__, (int)pc->type);
	if (pc->type != PROXY_NONE) {
		pc->phost = xstrdup(spec->host != NULL ? spec->host : "");
		pc->pport = spec->port;
		if (spec->user != NULL) {
			pc->user = xstrdup(spec->user);
			pc->pass = xstrdup(spec->pass != NULL ? spec->pass : "");
		}
	}
	pc->thost = xstrdup(target_host != NULL ? target_host : "");
	pc->tport = target_port;
	pc->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	pc->progress = progress;
	pc->done = done;
	pc->arg = arg;
	ev_now_update(loop);
	pc->deadline = ev_now(loop) + pc->timeout_ms / 1000.0;

	ev_io_init(&pc->io, conn_io_cb, -1, EV_READ);
	pc->io.data = pc;
	ev_timer_init(&pc->timer, conn_timer_cb, 1., 0.);
	pc->timer.data = pc;
	ev_timer_init(&pc->later, conn_begin_cb, 0., 0.);
	pc->later.data = pc;
	ev_timer_start(loop, &pc->later);
	return pc;
}

void
proxy_cancel(struct proxy_conn *pc)
{
	if (pc != NULL)
		conn_free(pc);
}

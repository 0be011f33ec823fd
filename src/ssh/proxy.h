/* SPDX-License-Identifier: MIT */
/*
 * Reaching a TCP endpoint directly or through a SOCKS5 / HTTP CONNECT proxy, without
 * blocking the event loop.  Two halves: pure codecs for the proxy protocols (no I/O,
 * unit-tested and fuzzed), and a driver on libev that connects and runs the handshake.
 */
#ifndef MOSHMAN_PROXY_H
#define MOSHMAN_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

enum proxy_type {
	PROXY_INVALID = -1, /* only from proxy_type_from_name() */
	PROXY_NONE,
	PROXY_SOCKS5,
	PROXY_SOCKS5H,
	PROXY_HTTP
};

struct proxy_spec { /* filled by the caller from a host profile */
	enum proxy_type type;
	const char *host; /* the proxy */
	int port;
	const char *user; /* NULL: no auth */
	const char *pass; /* secret: never logged, never in an error message */
	int family;       /* enum resolve_family for the target's name where it is
				 * resolved here (direct, socks5); 0: all */
};

/* "none", "socks5", "socks5h", "http" (any case; NULL means none); PROXY_INVALID (-1)
 * if unknown. */
enum proxy_type proxy_type_from_name(const char *);
/* The reverse; "?" for a value out of range. */
const char *proxy_type_name(enum proxy_type);

/* Size for the err buffers the codecs fill. */
#define PROXY_ERRLEN 256

/*
 * Parsers of proxy replies return:
 *   n > 0            a complete message of n bytes is at the start of the buffer
 *   PROXY_NEED_MORE  the buffer holds a valid prefix; read more and call again with all of it
 *   PROXY_ERROR      bad or negative reply; err holds one line for the user
 * Bytes after the n of a complete message belong to whatever comes next.
 */
#define PROXY_NEED_MORE 0
#define PROXY_ERROR (-1)

/* ---- SOCKS5 (RFC 1928) with username/password auth (RFC 1929) ------------------- */
#define PROXY_SOCKS5_METHOD_NONE 0x00
#define PROXY_SOCKS5_METHOD_USERPASS 0x02
#define PROXY_SOCKS5_GREETING_MAX 4
#define PROXY_SOCKS5_AUTH_MAX (3 + 255 + 255)
#define PROXY_SOCKS5_CONNECT_MAX (4 + 1 + 255 + 2)

/* Greeting offering "no auth", plus "username/password" if with_auth.  Returns length. */
size_t proxy_socks5_greeting(uint8_t out[PROXY_SOCKS5_GREETING_MAX], int with_auth);
/* The proxy's method choice (2 bytes).  *method is set to the chosen method. */
int proxy_socks5_parse_method(const uint8_t *, size_t, int offered_auth, int *method, char *err,
    size_t errlen);
/* RFC 1929 request; -1 (err set) if user is empty or user/pass is longer than 255 bytes.
 * The output holds the password: wipe it after sending. */
int proxy_socks5_auth_request(uint8_t out[PROXY_SOCKS5_AUTH_MAX], const char *user,
    const char *pass, char *err, size_t errlen);
/* RFC 1929 reply (2 bytes); non-zero status: "proxy rejected username/password". */
int proxy_socks5_parse_auth(const uint8_t *, size_t, char *err, size_t errlen);
/* CONNECT request.  An IPv4/IPv6 literal is sent as an address; any other host is sent
 * as a domain name only if allow_name (socks5h), else -1 (socks5 resolves locally and
 * passes a literal).  Returns the length or -1 with err set. */
int proxy_socks5_connect_request(uint8_t out[PROXY_SOCKS5_CONNECT_MAX], const char *host, int port,
    int allow_name, char *err, size_t errlen);
/* CONNECT reply, variable length (BND.ADDR: IPv4, IPv6 or a domain name). */
int proxy_socks5_parse_connect(const uint8_t *, size_t, char *err, size_t errlen);
/* A clear message for a REP code, e.g. 5 -> "proxy refused: connection refused by
 * destination". */
const char *proxy_socks5_rep_message(int rep);

/* ---- HTTP CONNECT ---------------------------------------------------------------- */
#define PROXY_HTTP_HEAD_MAX 16384

/* "CONNECT host:port HTTP/1.1\r\nHost: host:port\r\n[Proxy-Authorization: Basic ...]\r\n\r\n",
 * IPv6 literals in brackets.  user == NULL: no auth.  Allocated; it may hold the password
 * (base64): free it with xfree_secret().  NULL (err set) for a host with spaces or control
 * characters (header injection), a user name with ':' (Basic cannot carry it) or a bad
 * port. */
char *proxy_http_request(const char *host, int port, const char *user, const char *pass, char *err,
    size_t errlen);
/* The response head: status line and headers up to the empty line (CRLF or bare LF),
 * at most PROXY_HTTP_HEAD_MAX bytes.  A complete head returns its length n only for a
 * 2xx status; bytes after n belong to the tunnel.  *status (may be NULL) gets the
 * status code once the status line is complete.  sent_auth chooses the 401/407 message:
 * "proxy wants authentication" or "proxy rejected the credentials". */
int proxy_http_parse_response(const char *, size_t, int sent_auth, int *status, char *err,
    size_t errlen);

/* Standard base64 (with padding) of len bytes; allocated, free with xfree_secret(). */
char *proxy_base64(const void *, size_t len);

/* ---- the driver ---------------------------------------------------------------------- */
/*
 * fd >= 0: connected and the handshake done; the fd is in NON-BLOCKING mode, close-on-exec,
 * with TCP_NODELAY and SO_KEEPALIVE set; it now belongs to the callee.  Every reply was read
 * with MSG_PEEK and then consumed exactly, so any bytes the far end already sent after the
 * proxy's reply (the ssh server's banner) are still unread in the socket.
 * fd == -1: error is one line for the user (no secrets in it).
 * Called exactly once, from the loop (never from inside proxy_connect); the proxy_conn is
 * already freed when it runs: do not call proxy_cancel from or after it.
 */
typedef void (*proxy_done_cb)(int fd, const char *error, void *arg);
/* Steps for the user: "connecting to socks5 proxy 127.0.0.1:1080", "proxy handshake",
 * "proxy authentication as USER", "proxy CONNECT to HOST:PORT" (never a password).  May be
 * NULL.  Must not call proxy_cancel. */
typedef void (*proxy_progress_cb)(const char *step, void *arg);

struct proxy_conn;

/*
 * Start connecting to target_host:target_port through spec (NULL or PROXY_NONE: directly).
 * The spec's strings are copied.  timeout_ms covers resolution, every connect attempt and
 * the whole handshake (<= 0: 30 s); each address of the first hop gets an equal share of
 * what is left, so one black-holed address cannot eat it all.  socks5 resolves the target
 * here (IPv4 preferred) and sends an address; socks5h and http send the name.
 * Names resolve off the loop (src/ssh/resolve.h); a name that connected before has its
 * last good address tried at once while the lookup runs (the lookup's addresses follow
 * if it fails).  Never returns NULL; the outcome, even an immediate failure,
 * comes through done.  Errors look like "connection to 10.0.0.2:22 refused",
 * "cannot resolve proxy px.invalid: Name or service not known",
 * "proxy rejected username/password (socks5 proxy 127.0.0.1:1080, target 10.0.0.2:22)".
 * An enum value out of range in spec->type is a bug (fatalx).
 */
struct proxy_conn *
proxy_connect(struct ev_loop *, const struct proxy_spec *, const char *target_host, int target_port,
    int timeout_ms, proxy_progress_cb, proxy_done_cb, void *arg);
/* Abort an attempt whose done callback has not run yet; done will not be called. */
void proxy_cancel(struct proxy_conn *);

#endif

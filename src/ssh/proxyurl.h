/* SPDX-License-Identifier: MIT */
/* The --proxy value: none, socks5://, socks5h:// or http:// URLs.  A pure parser. */
#ifndef MOSHMAN_PROXYURL_H
#define MOSHMAN_PROXYURL_H

struct proxyurl {
	char type[8]; /* "none", "socks5", "socks5h", "http" */
	char *host;   /* without brackets; NULL for none */
	int port;
	char *user; /* percent-decoded; NULL when absent */
	char *pass; /* percent-decoded secret; NULL when absent */
};

#define PROXYURL_FORMS \
	"none, socks5://[USER:PASS@]HOST:PORT (names resolved here), " \
	"socks5h://[USER:PASS@]HOST:PORT (the proxy resolves names), " \
	"http://[USER:PASS@]HOST:PORT (HTTP CONNECT)"

/* 0 on success; -1 with *err (allocated) naming what is wrong.  The password never
 * appears in the message. */
int proxyurl_parse(const char *, struct proxyurl *, char **err);
void proxyurl_clear(struct proxyurl *);

#endif

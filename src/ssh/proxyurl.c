/* SPDX-License-Identifier: MIT */
#include "src/ssh/proxyurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ssh/profile.h"
#include "src/util/hex.h"
#include "src/util/xmalloc.h"

void
proxyurl_clear(struct proxyurl *u)
{
	free(u->host);
	free(u->user);
	xfree_secret(u->pass);
	memset(u, 0, sizeof *u);
}

/* Percent-decode [s, s+len); NUL bytes and control characters are refused. */
static char *
pct_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	int hi, lo, c;

	for (size_t i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				goto bad;
			if ((hi = hex_digit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
bad:
	*o = '\0';
	xfree_secret(out);
	return NULL;
}

int
proxyurl_parse(const char *s, struct proxyurl *u, char **err)
{
	static const char *const schemes[] = { "socks5", "socks5h", "http" };
	const char *p, *at, *hostp, *hend, *portp, *colon;
	char *host = NULL, *perr = NULL;
	size_t i;

	memset(u, 0, sizeof *u);
	*err = NULL;
	if (strcmp(s, "none") == 0 || *s == '\0') {
		snprintf(u->type, sizeof u->type, "none");
		return 0;
	}
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) == 0 && strncmp(s + n, "://", 3) == 0) {
			snprintf(u->type, sizeof u->type, "%s", schemes[i]);
			break;
		}
	}
	if (i == sizeof schemes / sizeof schemes[0]) {
		xasprintf(err, "unsupported proxy; accepted forms: %s", PROXYURL_FORMS);
		return -1;
	}
	p = s + strlen(u->type) + 3;
	/* The last '@' before the host: passwords may hold '@' only percent-encoded, but be
	 * lenient and split at the last one. */
	if ((at = strrchr(p, '@')) != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		u->user = pct_decode(p, (size_t)((colon ? colon : at) - p));
		if (colon != NULL)
			u->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
		if (u->user == NULL || (colon != NULL && u->pass == NULL)) {
			xasprintf(err, "bad proxy user or password encoding (use %%XX escapes)");
			goto fail;
		}
		if (*u->user == '\0') {
			xasprintf(err, "empty proxy user name before '@'");
			goto fail;
		}
		if (strlen(u->user) > 255 || (u->pass != NULL && strlen(u->pass) > 255)) {
			xasprintf(err, "proxy user or password longer than 255 bytes");
			goto fail;
		}
		hostp = at + 1;
	} else
		hostp = p;
	if (*hostp == '[') {
		if ((hend = strchr(hostp, ']')) == NULL) {
			xasprintf(err, "unterminated '[' in the proxy address");
			goto fail;
		}
		host = xstrndup(hostp + 1, (size_t)(hend - hostp - 1));
		portp = hend + 1;
		if (strchr(host, ':') == NULL) {
			xasprintf(err, "brackets are for IPv6 addresses only");
			goto fail;
		}
	} else {
		hend = hostp + strcspn(hostp, ":/");
		host = xstrndup(hostp, (size_t)(hend - hostp));
		portp = hend;
	}
	if (*host == '\0') {
		xasprintf(err, "proxy URL has no host; accepted forms: %s", PROXYURL_FORMS);
		goto fail;
	}
	if (profile_check_hostname(host, &perr) == -1) {
		xasprintf(err, "proxy host: %s", perr);
		free(perr);
		goto fail;
	}
	if (*portp != ':') {
		xasprintf(err, "proxy URL needs a port (%s://HOST:PORT)", u->type);
		goto fail;
	}
	portp++;
	{
		char *end = NULL;
		const char *tail;
		long port;

		tail = portp + strcspn(portp, "/");
		if (strcmp(tail, "") != 0 && strcmp(tail, "/") != 0) {
			xasprintf(err, "proxy URL must not have a path, query or fragment");
			goto fail;
		}
		if (portp == tail || *portp < '0' || *portp > '9') {
			xasprintf(err, "proxy port is not a number");
			goto fail;
		}
		port = strtol(portp, &end, 10);
		if (end != tail || port < 1 || port > 65535) {
			xasprintf(err, "proxy port must be 1-65535");
			goto fail;
		}
		u->port = (int)port;
	}
	u->host = host;
	return 0;
fail:
	free(host);
	proxyurl_clear(u);
	return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * Reading what `mosh-server new` printed.  The host's shell, motd and banners all share the
 * channel with mosh-server, so the parser looks for one exact line and treats everything
 * else as noise, which it only quotes back (sanitised) when the line is missing.
 */
#include "src/session/moshconnect.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define EXCERPT_MAX 300

static const char pid_marker[] = "[mosh-server detached, pid = ";
static const char connect_prefix[] = "MOSH CONNECT ";

/* One line of a buffer, without its '\n'. */
struct line {
	const char *p;
	size_t len;
};

/* Next line from *pos in buf[0..len); 0 at the end. */
static int
next_line(const char *buf, size_t len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	l->p = buf + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	l->len = nl != NULL ? (size_t)(nl - l->p) : len - *pos;
	*pos += l->len + (nl != NULL);
	return 1;
}

/* Perl's \s, which the wrapper's regex allows at the end of the line. */
static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int
is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '/' || c == '+';
}

static int
has_prefix(const struct line *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->len >= n && memcmp(l->p, prefix, n) == 0;
}

/* memmem over a line, for markers. */
static int
line_has(const struct line *l, const char *needle)
{
	return memmem(l->p, l->len, needle, strlen(needle)) != NULL;
}

static int
buf_has(const char *buf, size_t len, const char *needle)
{
	return buf != NULL && memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* ^MOSH CONNECT (\d+) ([A-Za-z0-9/+]{22})\s*$ with the port in 1..65535. */
static int
match_connect(const struct line *l, struct moshconnect *mc)
{
	size_t i = sizeof connect_prefix - 1, start;
	long port = 0;

	start = i;
	while (i < l->len && l->p[i] >= '0' && l->p[i] <= '9') {
		if (port <= 65535)
			port = port * 10 + (l->p[i] - '0');
		i++;
	}
	if (i == start || port < 1 || port > 65535)
		return -1;
	if (i >= l->len || l->p[i] != ' ')
		return -1;
	start = ++i;
	while (i < l->len && is_key_char(l->p[i]))
		i++;
	if (i - start != MOSHCONNECT_KEY_LEN)
		return -1;
	for (; i < l->len; i++)
		if (!is_space(l->p[i]))
			return -1;
	mc->port = (int)port;
	memcpy(mc->key, l->p + start, MOSHCONNECT_KEY_LEN);
	mc->key[MOSHCONNECT_KEY_LEN] = '\0';
	return 0;
}

/* 1: found and matched; -1: the first MOSH CONNECT line is malformed; 0: none. */
static int
find_connect(const char *buf, size_t len, struct moshconnect *mc)
{
	struct line l;
	size_t pos = 0;

	if (buf == NULL)
		return 0;
	while (next_line(buf, len, &pos, &l)) {
		if (!has_prefix(&l, connect_prefix))
			continue;
		return match_connect(&l, mc) == 0 ? 1 : -1;
	}
	return 0;
}

static long
find_pid(const char *buf, size_t len)
{
	const char *p, *end;
	long pid = 0;

	if (buf == NULL || (p = memmem(buf, len, pid_marker, sizeof pid_marker - 1)) == NULL)
		return 0;
	end = buf + len;
	p += sizeof pid_marker - 1;
	if (p >= end || *p < '0' || *p > '9')
		return 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		pid = pid * 10 + (*p - '0');
		if (pid > INT_MAX)
			return 0;
	}
	if (p >= end || *p != ']')
		return 0;
	return pid;
}

/*
 * Quote what the host printed, for one error line on a terminal: printable ASCII only
 * (anything else could be a terminal escape or break the line), lines joined by " | ",
 * blank lines dropped, and any line that mentions MOSH CONNECT hidden because it may
 * carry a key.  Starts at the first line containing from (NULL: at the start).
 */
static void
excerpt_add(char *out, size_t outsz, size_t *n, const char *buf, size_t len, const char *from)
{
	struct line l;
	size_t pos = 0, i, start;
	int started = (from == NULL);
	char c;

	if (buf == NULL)
		return;
	while (next_line(buf, len, &pos, &l)) {
		if (!started && !line_has(&l, from))
			continue;
		started = 1;
		/* Skip whitespace-only lines. */
		for (i = 0; i < l.len && (is_space(l.p[i]) || l.p[i] == '\0'); i++)
			;
		if (i == l.len)
			continue;
		if (*n > 0 && *n + 3 < outsz) {
			memcpy(out + *n, " | ", 3);
			*n += 3;
		}
		if (line_has(&l, "MOSH CONNECT")) {
			l.p = "[MOSH CONNECT line hidden]";
			l.len = strlen(l.p);
			i = 0;
		}
		start = *n;
		for (; i < l.len && *n + 1 < outsz; i++) {
			c = l.p[i];
			if (c == '\t' || c == '\r')
				c = ' ';
			else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				c = '?';
			/* Collapse runs of spaces. */
			if (c == ' ' && *n > start && out[*n - 1] == ' ')
				continue;
			out[(*n)++] = c;
		}
		while (*n > start && out[*n - 1] == ' ')
			(*n)--;
	}
	out[*n] = '\0';
}

/* Keep only the last whole lines of a long buffer, so its end reaches the excerpt. */
static void
tail_of(const char **buf, size_t *len)
{
	const char *p, *nl;
	size_t keep = 2 * EXCERPT_MAX;

	if (*buf == NULL || *len <= keep)
		return;
	p = *buf + *len - keep;
	if ((nl = memchr(p, '\n', keep)) != NULL && nl + 1 < *buf + *len)
		p = nl + 1;
	*len -= (size_t)(p - *buf);
	*buf = p;
}

/*
 * Build the excerpt, cut to EXCERPT_MAX.  With a marker: from its line, in the stream
 * that has it (stderr preferred).  Without: stderr then stdout, keeping the end, where
 * an error usually is.
 */
static void
excerpt(char *out, size_t outsz, const char *o, size_t olen, const char *e, size_t elen,
    const char *from)
{
	char all[4096];
	size_t n = 0, len;

	all[0] = '\0';
	if (from != NULL && buf_has(e, elen, from))
		excerpt_add(all, sizeof all, &n, e, elen, from);
	else if (from != NULL && buf_has(o, olen, from))
		excerpt_add(all, sizeof all, &n, o, olen, from);
	else {
		tail_of(&e, &elen);
		tail_of(&o, &olen);
		excerpt_add(all, sizeof all, &n, e, elen, NULL);
		excerpt_add(all, sizeof all, &n, o, olen, NULL);
	}
	len = strlen(all);
	if (len <= EXCERPT_MAX)
		snprintf(out, outsz, "%s", all);
	else if (from == NULL)
		snprintf(out, outsz, "...%s", all + len - EXCERPT_MAX);
	else
		snprintf(out, outsz, "%.*s...", EXCERPT_MAX, all);
}

/* A locale failure, from the messages in mosh's src/frontend/mosh-server.cc. */
static const char *
find_locale_marker(const char *o, size_t olen, const char *e, size_t elen)
{
	static const char *const markers[] = {
		"needs a UTF-8 native locale to run",
		"The client-supplied environment",
		"isn't available here",
	};
	size_t i;

	for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
		if (buf_has(e, elen, markers[i]) || buf_has(o, olen, markers[i]))
			return markers[i];
	return NULL;
}

/* ld.so says "No such file or directory" (and exits 127) for a missing library:
 * mosh-server is there but broken, which the generic message describes better. */
static int
broken_binary(const char *o, size_t olen, const char *e, size_t elen)
{
	static const char marker[] = "error while loading shared libraries";

	return buf_has(e, elen, marker) || buf_has(o, olen, marker);
}

/* What shells print when the command is missing (bash, dash/sh, zsh, busybox, csh). */
static const char *
find_notfound_marker(const char *o, size_t olen, const char *e, size_t elen)
{
	static const char *const markers[] = {
		"command not found",
		"No such file or directory",
		"not found",
		"Command not found",
	};
	size_t i;

	if (broken_binary(o, olen, e, elen))
		return NULL;
	for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
		if (buf_has(e, elen, markers[i]) || buf_has(o, olen, markers[i]))
			return markers[i];
	return NULL;
}

int
moshconnect_parse(const char *out, size_t outlen, const char *err, size_t errlen, int exit_status,
    struct moshconnect *mc)
{
	char text[EXCERPT_MAX + 8];
	const char *what = NULL, *marker = NULL;
	char status[32];
	int found;

	memset(mc, 0, sizeof *mc);
	if ((found = find_connect(out, outlen, mc)) == 0)
		found = find_connect(err, errlen, mc);
	mc->pid = find_pid(err, errlen);
	if (mc->pid == 0)
		mc->pid = find_pid(out, outlen);
	if (found == 1) {
		mc->why = MOSHCONNECT_OK;
		return 0;
	}

	if (exit_status >= 0)
		snprintf(status, sizeof status, " (exit status %d)", exit_status);
	else
		status[0] = '\0';
	if (found == -1) {
		mc->why = MOSHCONNECT_BAD_LINE;
		what = "malformed MOSH CONNECT line from mosh-server";
	} else if ((marker = find_locale_marker(out, outlen, err, errlen)) != NULL) {
		mc->why = MOSHCONNECT_LOCALE;
		what = "mosh-server rejected the locale (give the profile a UTF-8 locale, "
		       "e.g. LANG=C.UTF-8)";
	} else if ((marker = find_notfound_marker(out, outlen, err, errlen)) != NULL ||
	    ((exit_status == 127 || exit_status == 126) &&
	        !broken_binary(out, outlen, err, errlen))) {
		mc->why = MOSHCONNECT_NOT_FOUND;
		what = exit_status == 126 ? "mosh-server cannot be executed on the host"
		                          : "mosh-server not found on the host";
	} else {
		mc->why = MOSHCONNECT_NO_LINE;
		what = "no MOSH CONNECT line in mosh-server's output";
		marker = NULL;
	}

	excerpt(text, sizeof text, out, outlen, err, errlen, marker);
	if (text[0] == '\0')
		snprintf(mc->error, sizeof mc->error, "%s%s; it printed nothing", what, status);
	else
		snprintf(mc->error, sizeof mc->error, "%s%s: %s", what, status, text);
	mc->port = 0;
	explicit_bzero(mc->key, sizeof mc->key);
	return -1;
}

void
moshconnect_clear(struct moshconnect *mc)
{
	explicit_bzero(mc->key, sizeof mc->key);
}

/* SPDX-License-Identifier: MIT */
/* Parser of what `mosh-server new ...` prints when run over an ssh exec channel. */
#ifndef MOSHMAN_MOSHCONNECT_H
#define MOSHMAN_MOSHCONNECT_H

#include <stddef.h>

#define MOSHCONNECT_KEY_LEN 22 /* base64 of mosh's 128-bit AES-OCB key, no padding */

enum moshconnect_why {
	MOSHCONNECT_OK,        /* port and key found */
	MOSHCONNECT_NOT_FOUND, /* mosh-server is not installed (or not in PATH) */
	MOSHCONNECT_LOCALE,    /* mosh-server refused to start because of the locale */
	MOSHCONNECT_NO_LINE,   /* anything else: no MOSH CONNECT line */
	MOSHCONNECT_BAD_LINE,  /* the first MOSH CONNECT line is malformed */
};

struct moshconnect {
	enum moshconnect_why why;
	int port;                          /* 1..65535 when why == MOSHCONNECT_OK */
	char key[MOSHCONNECT_KEY_LEN + 1]; /* secret: wipe with explicit_bzero when done */
	long pid;                          /* daemon pid from stderr, 0 if absent */
	/* why != OK: one line for the user, e.g. "mosh-server not found on the host: bash:
	 * line 1: mosh-server: command not found".  The excerpt is trimmed (<= ~300 chars),
	 * control characters replaced, and never contains a key. */
	char error[512];
};

/*
 * Parse stdout and stderr of the exec channel (any bytes, NULs included; not
 * NUL-terminated).  exit_status is the channel's exit status, or -1 if unknown.
 * Fills *mc and returns 0 when a MOSH CONNECT line was found, -1 otherwise (mc->why and
 * mc->error say why).  Pure: no I/O, no allocation that outlives the call.
 *
 * Like mosh's own wrapper (scripts/mosh.pl), lines are read in order and the first one
 * that starts with "MOSH CONNECT " decides: it must match
 * ^MOSH CONNECT (\d+) ([A-Za-z0-9/+]{22})\s*$ with a port in 1..65535, or the result is
 * MOSHCONNECT_BAD_LINE (the wrapper dies with "Bad MOSH CONNECT string" there too).  Other
 * lines (motd, banners, shell noise) are ignored.  stdout is searched first, then stderr
 * (a pty merges the two).  The pid comes from "[mosh-server detached, pid = N]" in
 * stderr, else stdout.
 */
int moshconnect_parse(const char *out, size_t outlen, const char *err, size_t errlen,
    int exit_status, struct moshconnect *mc);

/* Wipe the key in *mc. */
void moshconnect_clear(struct moshconnect *mc);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Quoting for a remote POSIX shell.  Inside single quotes a POSIX shell treats every byte
 * literally except the closing quote itself, so a word is safe once each ' is written as
 * '\'' (close, escaped quote, reopen).  No locale or encoding matters: the shell compares
 * bytes, so non-UTF-8 input is fine.  A NUL cannot be passed at all (C strings end there).
 */
#include "src/util/shquote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util/xmalloc.h"

/* Bytes needed for the quoted form of s, without the NUL. */
static size_t
shquote_len(const char *s)
{
	size_t n = 2;

	for (; *s != '\0'; s++)
		n += (*s == '\'') ? 4 : 1;
	return n;
}

/* Write the quoted form of s at out; returns the end (not NUL-terminated). */
static char *
shquote_put(char *out, const char *s)
{
	*out++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(out, "'\\''", 4);
			out += 4;
		} else
			*out++ = *s;
	}
	*out++ = '\'';
	return out;
}

char *
shquote(const char *s)
{
	char *out, *end;

	out = xmalloc(shquote_len(s) + 1);
	end = shquote_put(out, s);
	*end = '\0';
	return out;
}

/* Length of NAME in "NAME=value" if NAME is a valid shell variable name, else 0. */
static size_t
shquote_assignment(const char *s)
{
	size_t i;

	if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; s[i] != '\0' && s[i] != '='; i++) {
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return s[i] == '=' ? i : 0;
}

/*
 * env: the leading NAME=VALUE words are environment for the command.  They go through
 * env(1) ("env 'A=x y' 'cmd' ...") rather than the POSIX prefix form ("A='x y' cmd"),
 * because the login shell that runs an ssh exec need not be POSIX: csh and tcsh take
 * "A=x" for a command name.  env would take a command word containing '=' for one more
 * assignment, so then (never for mosh-server) the prefix form is kept.
 */
static char *
shquote_join(int argc, const char *const *argv, int env)
{
	size_t len = 5, name;
	int i, n, nenv = 0, use_env = 0, in_env = env;
	char *out, *p;

	n = argc;
	if (n < 0)
		for (n = 0; argv[n] != NULL; n++)
			;
	if (env) {
		while (nenv < n && shquote_assignment(argv[nenv]) > 0)
			nenv++;
		use_env = nenv > 0 && nenv < n && strchr(argv[nenv], '=') == NULL;
	}
	for (i = 0; i < n; i++)
		len += shquote_len(argv[i]) + 1;
	out = p = xmalloc(len);
	if (use_env) {
		memcpy(p, "env ", 4);
		p += 4;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ' ';
		name = in_env ? shquote_assignment(argv[i]) : 0;
		if (name == 0)
			in_env = 0;
		/* NAME= stays bare so the shell sees an assignment; the value is quoted. */
		memcpy(p, argv[i], name + (name > 0));
		p += name + (name > 0);
		p = shquote_put(p, argv[i] + name + (name > 0));
	}
	*p = '\0';
	return out;
}

/* A word's longest run for shquote_script: short enough for any shell's word limits. */
#define SHQUOTE_CHUNK 1000

/* How shquote_script writes byte c: its length, and the bytes at esc (6 bytes) unless
 * NULL.  Nothing a login shell could act on inside '...' is left: no quote, no newline
 * (csh rejects it), no ! (csh history), no backslash (fish reads \\ and \'), no 8-bit
 * byte (old csh keeps its own flag in the eighth bit). */
static size_t
shquote_script_esc(unsigned char c, char *esc)
{
	char buf[6];

	if (esc == NULL)
		esc = buf;
	if (c == '\n')
		return (size_t)snprintf(esc, 6, "\\n");
	if (c == '\\' || c == '\'' || c == '!' || c < 0x20 || c >= 0x7f)
		return (size_t)snprintf(esc, 6, "\\0%03o", c);
	esc[0] = (char)c;
	esc[1] = '\0';
	return 1;
}

char *
shquote_script(const char *name, const char *script, const char *words)
{
	static const char head[] = "sh -c 'eval \"$(printf %b \"$@\")\"' ";
	const unsigned char *s;
	size_t cap, esclen, run = 0;
	char *q, *out, *p, *body;

	xasprintf(&body, "set --%s%s\n%s", words != NULL && *words != '\0' ? " " : "",
	    words != NULL ? words : "", script);
	q = shquote(name);
	/* The escaped length, exactly; a chunk holds at least SHQUOTE_CHUNK - 4 of it (an
	 * escape is at most 5 bytes and never split), and each break adds "' '". */
	esclen = 0;
	for (s = (const unsigned char *)body; *s != '\0'; s++)
		esclen += shquote_script_esc(*s, NULL);
	cap = sizeof head + strlen(q) + 2 + esclen + (esclen / (SHQUOTE_CHUNK - 4) + 1) * 3 + 2;
	out = p = xmalloc(cap);
	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	memcpy(p, q, strlen(q));
	p += strlen(q);
	memcpy(p, " '", 2);
	p += 2;
	for (s = (const unsigned char *)body; *s != '\0'; s++) {
		char esc[6];
		size_t e = shquote_script_esc(*s, esc);

		if (run + e > SHQUOTE_CHUNK) {
			memcpy(p, "' '", 3);
			p += 3;
			run = 0;
		}
		memcpy(p, esc, e);
		p += e;
		run += e;
	}
	*p++ = '\'';
	*p = '\0';
	free(q);
	free(body);
	return out;
}

char *
shquote_argv(int argc, const char *const *argv)
{
	return shquote_join(argc, argv, 0);
}

char *
shquote_env_argv(int argc, const char *const *argv)
{
	return shquote_join(argc, argv, 1);
}

/*
 * Quoting for a remote POSIX shell.  Inside single quotes a POSIX shell treats every byte
 * literally except the closing quote itself, so a word is safe once each ' is written as
 * '\'' (close, escaped quote, reopen).  No locale or encoding matters: the shell compares
 * bytes, so non-UTF-8 input is fine.  A NUL cannot be passed at all (C strings end there).
 */
#include "src/shquote.h"

#include <stdlib.h>
#include <string.h>

#include "src/xmalloc.h"

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
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return s[i] == '=' ? i : 0;
}

static char *
shquote_join(int argc, const char *const *argv, int env)
{
	size_t len = 1, name;
	int i, n, in_env = env;
	char *out, *p;

	n = argc;
	if (n < 0)
		for (n = 0; argv[n] != NULL; n++)
			;
	for (i = 0; i < n; i++)
		len += shquote_len(argv[i]) + 1;
	out = p = xmalloc(len);
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

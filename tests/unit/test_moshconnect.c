/* SPDX-License-Identifier: MIT */
/* moshconnect_parse against outputs recorded from Debian's mosh-server 1.4.0 on this
 * machine (servers killed right after), plus hostile and broken ones. */
#include "src/session/moshconnect.h"
#include "tests/unit/unit.h"

/* `mosh-server new -i 127.0.0.1 -p 0 -c 256 -l LANG=C.UTF-8 </dev/null`, as root. */
static const char real_out[] = "MOSH CONNECT 48602 cD5waSFEnVO0cXFuJAPfNg\n";
static const char real_err[] =
    "\nmosh-server (mosh 1.4.0) [build mosh 1.4.0]\n"
    "Copyright 2012 Keith Winstein <mosh-devel@mit.edu>\n"
    "License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>.\n"
    "This is free software: you are free to change and redistribute it.\n"
    "There is NO WARRANTY, to the extent permitted by law.\n"
    "\n[mosh-server detached, pid = 6893]\n";

/* The same with a tty (script(1)), stdout only: mosh-server first prints "\r\n". */
static const char real_tty_out[] = "\r\r\n\r\nMOSH CONNECT 35086 rz7+w69K+Hly2qGYuc5G2Q\r\n";

/* env -i LANG=xx_YY.ISO-8859-1 mosh-server new ... -l LANG=de_DE.ISO-8859-1
 * -l LC_ALL=de_DE.ISO-8859-1: exit 1, locale(1)'s dump on stdout. */
static const char locale_out[] =
    "LANG=de_DE.ISO-8859-1\nLANGUAGE=\nLC_CTYPE=\"de_DE.ISO-8859-1\"\n"
    "LC_NUMERIC=\"de_DE.ISO-8859-1\"\nLC_TIME=\"de_DE.ISO-8859-1\"\n"
    "LC_COLLATE=\"de_DE.ISO-8859-1\"\nLC_MONETARY=\"de_DE.ISO-8859-1\"\n"
    "LC_MESSAGES=\"de_DE.ISO-8859-1\"\nLC_PAPER=\"de_DE.ISO-8859-1\"\n"
    "LC_NAME=\"de_DE.ISO-8859-1\"\nLC_ADDRESS=\"de_DE.ISO-8859-1\"\n"
    "LC_TELEPHONE=\"de_DE.ISO-8859-1\"\nLC_MEASUREMENT=\"de_DE.ISO-8859-1\"\n"
    "LC_IDENTIFICATION=\"de_DE.ISO-8859-1\"\nLC_ALL=de_DE.ISO-8859-1\n";
static const char locale_err[] =
    "The locale requested by LANG=xx_YY.ISO-8859-1 isn't available here.\n"
    "Running `locale-gen xx_YY.ISO-8859-1' may be necessary.\n\n"
    "The locale requested by LC_ALL=de_DE.ISO-8859-1 isn't available here.\n"
    "Running `locale-gen de_DE.ISO-8859-1' may be necessary.\n\n"
    "mosh-server needs a UTF-8 native locale to run.\n\n"
    "Unfortunately, the local environment (LANG=xx_YY.ISO-8859-1) specifies\n"
    "the character set \"US-ASCII\",\n\n"
    "The client-supplied environment (LC_ALL=de_DE.ISO-8859-1) specifies\n"
    "the character set \"US-ASCII\".\n\n"
    "locale: Cannot set LC_CTYPE to default locale: No such file or directory\n"
    "locale: Cannot set LC_MESSAGES to default locale: No such file or directory\n"
    "locale: Cannot set LC_ALL to default locale: No such file or directory\n";

#define S(x) (x), (sizeof(x) - 1)

static int
parse(const char *out, size_t outlen, const char *err, size_t errlen, int status,
    struct moshconnect *mc)
{
	int rc = moshconnect_parse(out, outlen, err, errlen, status, mc);

	/* Whatever happened, an error line is printable ASCII and short. */
	for (const char *p = mc->error; *p != '\0'; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	CHECK(strlen(mc->error) < 420);
	return rc;
}

static void
test_real_ok(void)
{
	struct moshconnect mc;

	CHECK_INT(parse(S(real_out), S(real_err), 0, &mc), 0);
	CHECK_INT(mc.why, MOSHCONNECT_OK);
	CHECK_INT(mc.port, 48602);
	CHECK_STR(mc.key, "cD5waSFEnVO0cXFuJAPfNg");
	CHECK_INT(mc.pid, 6893);
	moshconnect_clear(&mc);
	CHECK_STR(mc.key, "");
}

static void
test_real_tty(void)
{
	struct moshconnect mc;

	CHECK_INT(parse(S(real_tty_out), NULL, 0, -1, &mc), 0);
	CHECK_INT(mc.port, 35086);
	CHECK_STR(mc.key, "rz7+w69K+Hly2qGYuc5G2Q");
	CHECK_INT(mc.pid, 0);
}

/* A pty merges everything into stdout, in any order. */
static void
test_merged(void)
{
	struct moshconnect mc;
	char buf[2048];

	snprintf(buf, sizeof buf, "%s%s", real_err, real_out);
	CHECK_INT(parse(buf, strlen(buf), NULL, 0, 0, &mc), 0);
	CHECK_INT(mc.port, 48602);
	CHECK_INT(mc.pid, 6893);
}

static void
test_real_locale(void)
{
	struct moshconnect mc;

	CHECK_INT(parse(S(locale_out), S(locale_err), 1, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_LOCALE);
	CHECK_HAS(mc.error, "mosh-server rejected the locale");
	CHECK_HAS(mc.error, "exit status 1");
	CHECK_HAS(mc.error, "mosh-server needs a UTF-8 native locale to run.");
	CHECK_HAS(mc.error, "The client-supplied environment (LC_ALL=de_DE.ISO-8859-1)");
	CHECK_INT(mc.port, 0);
}

static void
test_not_found(void)
{
	struct moshconnect mc;

	/* bash, as recorded */
	CHECK_INT(parse("", 0, S("bash: line 1: mosh-server: command not found\n"), 127, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_NOT_FOUND);
	CHECK_HAS(mc.error,
	    "mosh-server not found on the host (exit status 127): bash: line "
	    "1: mosh-server: command not found");
	/* dash */
	CHECK_INT(parse("", 0, S("sh: 1: mosh-server: not found\n"), 127, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_NOT_FOUND);
	CHECK_HAS(mc.error, "sh: 1: mosh-server: not found");
	/* a configured path that does not exist; exit status unknown */
	CHECK_INT(parse("", 0,
	              S("bash: line 1: /opt/nope/mosh-server: No such file or directory\n"), -1,
	              &mc),
	    -1);
	CHECK_INT(mc.why, MOSHCONNECT_NOT_FOUND);
	CHECK(strstr(mc.error, "exit status") == NULL);
	/* exit 127 with nothing printed */
	CHECK_INT(parse("", 0, "", 0, 127, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_NOT_FOUND);
	CHECK_HAS(mc.error, "it printed nothing");
	/* not executable */
	CHECK_INT(parse("", 0, S("bash: line 1: /usr/bin/mosh-server: Permission denied\n"), 126,
	              &mc),
	    -1);
	CHECK_INT(mc.why, MOSHCONNECT_NOT_FOUND);
	CHECK_HAS(mc.error, "cannot be executed");
	/* a missing library is not a missing mosh-server */
	CHECK_INT(parse("", 0,
	              S("mosh-server: error while loading shared libraries: libprotobuf.so.32: "
	                "cannot open shared object file: No such file or directory\n"),
	              127, &mc),
	    -1);
	CHECK_INT(mc.why, MOSHCONNECT_NO_LINE);
	CHECK_HAS(mc.error, "libprotobuf.so.32");
}

static void
test_noise(void)
{
	struct moshconnect mc;
	static const char out[] = "Welcome to Ubuntu 24.04 LTS\r\n"
	                          " * Documentation:  https://help.ubuntu.com\r\n"
	                          "\x1b[1;31mLast login: yesterday\x1b[0m\r\n"
	                          "MOSH CONNECTED to nothing\r\n"
	                          "  MOSH CONNECT 1 AAAAAAAAAAAAAAAAAAAAAA\n"
	                          "xMOSH CONNECT 2 AAAAAAAAAAAAAAAAAAAAAA\n"
	                          "MOSH CONNECT 60001 abcdefghijklmnopqrstuv \t\r\n"
	                          "MOSH CONNECT 60002 BBBBBBBBBBBBBBBBBBBBBB\n";

	CHECK_INT(parse(S(out), "", 0, 0, &mc), 0);
	CHECK_INT(mc.port, 60001);
	CHECK_STR(mc.key, "abcdefghijklmnopqrstuv");
	/* No trailing newline at all */
	CHECK_INT(parse(S("MOSH CONNECT 65535 ++++++++++++++++++++//"), "", 0, 0, &mc), 0);
	CHECK_INT(mc.port, 65535);
	/* Leading zeros are digits too (\d+) */
	CHECK_INT(parse(S("MOSH CONNECT 0060001 abcdefghijklmnopqrstuv\n"), "", 0, 0, &mc), 0);
	CHECK_INT(mc.port, 60001);
}

/* The first MOSH CONNECT line decides, as in mosh's wrapper: a bad one is an error. */
static void
test_bad_lines(void)
{
	static const char *const bad[] = {
		"MOSH CONNECT 60001 abcdefghijklmnopqrstu\n",   /* 21 chars */
		"MOSH CONNECT 60001 abcdefghijklmnopqrstuvw\n", /* 23 chars */
		"MOSH CONNECT 0 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT 65536 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT 99999999999 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT 99999999999999999999999999999999 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT -1 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT  60001 abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT 60001  abcdefghijklmnopqrstuv\n",
		"MOSH CONNECT 60001 abcdefghijklmnopqrst-v\n",
		"MOSH CONNECT 60001 abcdefghijklmnopqrstuv x\n",
		"MOSH CONNECT 60001\n",
		"MOSH CONNECT \n",
		"MOSH CONNECT 60001 abcdefghijklmnopqrstuv\nMOSH CONNECT 60002 ok\n",
	};
	struct moshconnect mc;
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* a bad first line then a good one: still an error */
		snprintf(buf, sizeof buf, "%sMOSH CONNECT 60009 zzzzzzzzzzzzzzzzzzzzzz\n", bad[i]);
		if (i == sizeof bad / sizeof bad[0] - 1) {
			/* the last is a good line first: it wins */
			CHECK_INT(parse(buf, strlen(buf), "", 0, 0, &mc), 0);
			CHECK_INT(mc.port, 60001);
			continue;
		}
		if (parse(buf, strlen(buf), "", 0, 0, &mc) != -1)
			printf("    accepted: %s", bad[i]);
		CHECK_INT(mc.why, MOSHCONNECT_BAD_LINE);
		CHECK_HAS(mc.error, "malformed MOSH CONNECT line");
		CHECK_INT(mc.port, 0);
		CHECK_STR(mc.key, "");
		/* the key-looking text is never echoed */
		CHECK(strstr(mc.error, "abcdefghijklmnopqrst") == NULL);
		CHECK(strstr(mc.error, "zzzzzzzzzzzzzzzzzzzzzz") == NULL);
		CHECK_HAS(mc.error, "[MOSH CONNECT line hidden]");
	}
}

static void
test_nuls(void)
{
	struct moshconnect mc;
	static const char nul_in_key[] = "MOSH CONNECT 60001 abcdefghij\0lmnopqrstuv\n";
	static const char nul_before[] =
	    "\0\0\0garbage\0\nMOSH CONNECT 60001 abcdefghijklmnopqrstuv\0";
	static const char nul_line[] = "junk\nMOSH CONNECT 60001 abcdefghijklmnopqrstuv\n\0";

	CHECK_INT(parse(S(nul_in_key), "", 0, 0, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_BAD_LINE);
	/* a NUL is not \s: a trailing NUL spoils the line */
	CHECK_INT(parse(S(nul_before), "", 0, 0, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_BAD_LINE);
	CHECK_INT(parse(S(nul_line), S("x\0[mosh-server detached, pid = 42]"), 0, &mc), 0);
	CHECK_INT(mc.port, 60001);
	CHECK_INT(mc.pid, 42);
}

static void
test_pid(void)
{
	struct moshconnect mc;

	CHECK_INT(parse(S(real_out), S("[mosh-server detached, pid = ]\n"), 0, &mc), 0);
	CHECK_INT(mc.pid, 0);
	CHECK_INT(parse(S(real_out), S("[mosh-server detached, pid = 12x]\n"), 0, &mc), 0);
	CHECK_INT(mc.pid, 0);
	CHECK_INT(parse(S(real_out), S("[mosh-server detached, pid = 99999999999]\n"), 0, &mc), 0);
	CHECK_INT(mc.pid, 0);
	CHECK_INT(parse(S(real_out), S("[mosh-server detached, pid = 123"), 0, &mc), 0);
	CHECK_INT(mc.pid, 0);
	CHECK_INT(parse(S(real_out), S("[mosh-server detached, pid = 2147483647]"), 0, &mc), 0);
	CHECK_INT(mc.pid, 2147483647);
}

static void
test_no_line(void)
{
	struct moshconnect mc;
	char big[8192];
	size_t i;

	CHECK_INT(parse(S("hello\n"), S("\x1b]0;evil title\x07oops\r\n\xff\xfe\n"), 1, &mc), -1);
	CHECK_INT(mc.why, MOSHCONNECT_NO_LINE);
	CHECK_HAS(mc.error, "no MOSH CONNECT line in mosh-server's output (exit status 1): ");
	CHECK_HAS(mc.error, "?]0;evil title?oops | ?? | hello");
	CHECK(strchr(mc.error, '\x1b') == NULL);

	/* Long output: the end is kept, bounded. */
	for (i = 0; i < sizeof big - 1; i++)
		big[i] = (i % 80 == 79) ? '\n' : 'a' + (char)(i % 26);
	memcpy(big + sizeof big - 20, "THE-REAL-ERROR\n", 15);
	CHECK_INT(parse(big, sizeof big - 5, "", 0, -1, &mc), -1);
	CHECK_HAS(mc.error, "THE-REAL-ERROR");
	CHECK(strlen(mc.error) < 400);

	CHECK_INT(parse(NULL, 0, NULL, 0, -1, &mc), -1);
	CHECK_STR(mc.error, "no MOSH CONNECT line in mosh-server's output; it printed nothing");
}

int
main(void)
{
	UNIT_BEGIN("test_moshconnect");
	RUN(test_real_ok);
	RUN(test_real_tty);
	RUN(test_merged);
	RUN(test_real_locale);
	RUN(test_not_found);
	RUN(test_noise);
	RUN(test_bad_lines);
	RUN(test_nuls);
	RUN(test_pid);
	RUN(test_no_line);
	UNIT_END();
}

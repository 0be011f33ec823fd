/* SPDX-License-Identifier: MIT */
/* The scan and kill parsers on outputs recorded from real mosh-servers
 * (tests/fixtures/scan, see record.sh there), on truncations of them, and on hostile
 * variations.
 *
 * Also a helper for tests/e2e/scan_local.sh:
 *   test_scanparse --parse FILE [--known ID:PORT:PID:LIVE]...   one line per server
 *   test_scanparse --kill FILE                                     one line per pid
 *   test_scanparse --kill-args USR1|TERM FORCE PID:START...       the script's argv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/scan/scanclass.h"
#include "src/scan/scanparse.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				abort();
		}
		if ((got = fread(buf + n, 1, cap - n - 1, f)) == 0)
			break;
		n += got;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *
fixture(const char *name, size_t *len)
{
	const char *top = getenv("MOSHMAN_TOP");
	char path[4096];
	char *buf;

	snprintf(path, sizeof path, "%s/tests/fixtures/scan/%s", top ? top : ".", name);
	if ((buf = slurp(path, len)) == NULL) {
		printf("    cannot read %s\n", path);
		unit_case_failed = 1;
		buf = xstrdup("");
		*len = 0;
	}
	return buf;
}

/* The pid that record.sh gave a role: attached, detached, new, nobody. */
static long
role(const char *name)
{
	size_t len;
	char *buf = fixture("pids.txt", &len), *p, key[32];
	long pid = -1;

	snprintf(key, sizeof key, "%s=", name);
	for (p = buf; (p = strstr(p, key)) != NULL; p++) {
		if (p == buf || p[-1] == ' ') {
			pid = strtol(p + strlen(key), NULL, 10);
			break;
		}
	}
	free(buf);
	return pid;
}

static int
parse_fixture(const char *name, struct scan_result *r)
{
	size_t len;
	char *buf = fixture(name, &len), *err = NULL;
	int rc;

	rc = scanparse_collect(buf, len, r, &err);
	if (rc != 0)
		printf("    %s: %s\n", name, err);
	free(err);
	free(buf);
	return rc;
}

static int
parse_text(const char *text, struct scan_result *r)
{
	char *err = NULL;
	int rc = scanparse_collect(text, strlen(text), r, &err);

	free(err);
	return rc;
}

/* What every recording of the standard scene must show. */
static void
check_scene(const char *name, int want_ports)
{
	struct scan_result r;
	const struct scan_server *a, *d, *n, *twin = NULL;
	long newpid = role("new");
	size_t i;

	CHECK_INT(parse_fixture(name, &r), 0);
	CHECK(r.complete);
	CHECK(!r.suspect);
	CHECK_INT(r.uid, 0);
	CHECK_STR(r.user, "root");
	CHECK_INT(r.utmp_damaged, 0);
	a = scanparse_find(&r, role("attached"));
	d = scanparse_find(&r, role("detached"));
	n = scanparse_find(&r, newpid);
	for (i = 0; i < r.nservers; i++) {
		if (r.servers[i].ppid == newpid)
			twin = &r.servers[i];
	}
	CHECK(a != NULL && d != NULL && n != NULL && twin != NULL);
	/* The other user's server is not the login user's: not collected at all. */
	CHECK(scanparse_find(&r, role("nobody")) == NULL);
	if (a == NULL || d == NULL || n == NULL || twin == NULL)
		goto out;
	CHECK(a->is_mosh && d->is_mosh && n->is_mosh && twin->is_mosh);
	CHECK_STR(a->cmdline, "mosh-server new -i 127.0.0.1 -p 0");
	CHECK_INT(a->utmp, SCAN_UTMP_ATTACHED);
	CHECK_HAS(a->utmp_host, "127.0.0.1 via mosh [");
	CHECK_INT(d->utmp, SCAN_UTMP_DETACHED);
	CHECK_INT(n->utmp, SCAN_UTMP_DETACHED);
	CHECK_INT(twin->utmp, SCAN_UTMP_NONE);
	CHECK_INT(a->utmp_marks, 1);
	CHECK_INT(d->utmp_marks, 1);
	CHECK(
	    d->utmp_tty != NULL && d->child_tty != NULL && strcmp(d->utmp_tty, d->child_tty) == 0);
	CHECK(
	    a->utmp_tty != NULL && a->child_tty != NULL && strcmp(a->utmp_tty, a->child_tty) == 0);
	CHECK_INT(twin->twin_of, newpid);
	CHECK(n->has_twin);
	CHECK(!d->has_twin && !a->has_twin);
	CHECK(twin->tty != NULL && n->child_tty != NULL && strcmp(twin->tty, n->child_tty) == 0);
	CHECK(a->start != NULL && d->start != NULL && n->start != NULL);
	CHECK(strcmp(a->start, d->start) != 0 || r.mode[0] == 'p');
	CHECK(d->elapsed >= 60 && d->elapsed < 120);
	CHECK(n->elapsed >= 0 && n->elapsed < 60);
	if (want_ports) {
		CHECK_INT(a->nports, 1);
		CHECK_INT(d->nports, 1);
		CHECK_INT(n->nports, 1);
		CHECK_INT(twin->nports, 0);
		CHECK(a->ports[0] > 1024 && d->ports[0] > 1024 && a->ports[0] != d->ports[0]);
	}
out:
	scanparse_free(&r);
}

static void
linux_ss(void)
{
	struct scan_result r;

	check_scene("linux-ss.txt", 1);
	CHECK_INT(parse_fixture("linux-ss.txt", &r), 0);
	CHECK_STR(r.mode, "proc");
	CHECK_STR(r.ports_from, "ss");
	CHECK_INT(r.nmissing, 0);
	CHECK_INT(r.nwarnings, 0);
	CHECK(r.boot != NULL && strlen(r.boot) == 36);
	CHECK(r.now > 1700000000);
	scanparse_free(&r);
}

static void
linux_netstat(void)
{
	struct scan_result r;

	check_scene("linux-netstat.txt", 1);
	CHECK_INT(parse_fixture("linux-netstat.txt", &r), 0);
	CHECK_STR(r.ports_from, "netstat");
	CHECK_INT(r.nmissing, 1);
	CHECK_STR(r.missing[0], "ss");
	CHECK_INT(r.nwarnings, 0);
	scanparse_free(&r);
}

static void
linux_procfd(void)
{
	struct scan_result r;

	check_scene("linux-procfd.txt", 1);
	CHECK_INT(parse_fixture("linux-procfd.txt", &r), 0);
	CHECK_STR(r.ports_from, "procfd");
	CHECK_INT(r.nmissing, 2);
	CHECK_INT(r.nwarnings, 0);
	scanparse_free(&r);
}

static void
busybox(void)
{
	struct scan_result r;

	/* BusyBox: ss absent, netstat without -p, who without parentheses. */
	check_scene("busybox.txt", 1);
	CHECK_INT(parse_fixture("busybox.txt", &r), 0);
	CHECK_STR(r.ports_from, "procfd");
	CHECK_INT(r.nmissing, 2);
	CHECK_STR(r.missing[1], "netstat");
	CHECK_INT(r.nwarnings, 0);
	scanparse_free(&r);
}

static void
linux_ps(void)
{
	struct scan_result r;
	const struct scan_server *d;

	check_scene("linux-ps.txt", 1);
	check_scene("linux-ps-lsof.txt", 1);
	CHECK_INT(parse_fixture("linux-ps-lsof.txt", &r), 0);
	CHECK_STR(r.mode, "ps");
	CHECK_STR(r.ports_from, "lsof");
	CHECK_INT(r.uptime, -1);
	d = scanparse_find(&r, role("detached"));
	CHECK(d != NULL && strncmp(d->start, "s:", 2) == 0);
	CHECK_INT(r.nwarnings, 0);
	scanparse_free(&r);
}

static void
macos_like(void)
{
	struct scan_result r;
	const struct scan_server *s;

	/* Written by hand after macOS's formats (no macOS here): ps with full paths in
	 * comm and "??" ttys, BSD who, lsof, neither ss nor netstat -p. */
	CHECK_INT(parse_fixture("macos-like.txt", &r), 0);
	CHECK(r.complete);
	CHECK_INT(r.uid, 501);
	CHECK_STR(r.user, "ada");
	CHECK_STR(r.os, "Darwin");
	CHECK_STR(r.ports_from, "lsof");
	CHECK_INT(r.nservers, 2);
	s = scanparse_find(&r, 812);
	CHECK(s != NULL && s->is_mosh && s->elapsed == 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	CHECK(s != NULL && s->nports == 1 && s->ports[0] == 60001);
	CHECK(s != NULL && s->utmp == SCAN_UTMP_DETACHED);
	CHECK(s != NULL && s->child_tty != NULL && strcmp(s->child_tty, "ttys003") == 0);
	s = scanparse_find(&r, 950);
	CHECK(s != NULL && s->utmp == SCAN_UTMP_ATTACHED && s->nports == 1 && s->ports[0] == 60002);
	CHECK_HAS(s != NULL ? s->utmp_host : NULL, "192.0.2.7 via mosh [950]");
	/* "vim mosh-server.c" is not a server. */
	CHECK(scanparse_find(&r, 977) == NULL);
	CHECK_INT(r.nwarnings, 1);
	CHECK_HAS(r.nwarnings ? r.warnings[0] : NULL, "pid 977 (vim mosh-server.c)");
	scanparse_free(&r);
}

/* Cut anywhere before the trailer's newline, a recording is never complete. */
static void
truncated(void)
{
	const char *names[] = { "linux-ss.txt", "busybox.txt", "linux-ps.txt" };
	size_t i, cut, len, bad = 0;
	char *buf, *err;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		buf = fixture(names[i], &len);
		for (cut = 0; cut < len; cut++) {
			struct scan_result r;

			err = NULL;
			if (scanparse_collect(buf, cut, &r, &err) == 0 && r.complete)
				bad++;
			free(err);
			scanparse_free(&r);
		}
		free(buf);
	}
	CHECK_INT(bad, 0);
}

static void
header_and_trailer(void)
{
	struct scan_result r;
	char *err = NULL;

	CHECK_INT(scanparse_collect("", 0, &r, &err), -1);
	CHECK_HAS(err, "no moshman scan output");
	free(err);
	scanparse_free(&r);

	err = NULL;
	CHECK_INT(scanparse_collect("moshman-scan 2\nend\n", 18, &r, &err), -1);
	CHECK_HAS(err, "version 2");
	free(err);
	scanparse_free(&r);

	/* A chatty .bashrc before the header is skipped with a warning. */
	CHECK_INT(parse_text("Welcome!\nmoshman-scan 1\nme 0 -\nend\n", &r), 0);
	CHECK(r.complete);
	CHECK_INT(r.nwarnings, 1);
	CHECK_HAS(r.warnings[0], "1 lines before");
	scanparse_free(&r);

	/* Anything after the trailer makes the whole result doubtful. */
	CHECK_INT(parse_text("moshman-scan 1\nend\nproc 1 1 0 - - - - -\n", &r), 0);
	CHECK(!r.complete);
	scanparse_free(&r);

	/* A malformed record of the script's own marks the result suspect. */
	CHECK_INT(parse_text("moshman-scan 1\nme 0 -\nproc 12 x 0 - - - - -\nend\n", &r), 0);
	CHECK(r.complete);
	CHECK(r.suspect);
	CHECK_INT(r.nservers, 0);
	scanparse_free(&r);

	/* NUL bytes in a line, CRLF line ends. */
	CHECK_INT(scanparse_collect("moshman-scan 1\r\nme 0 -\r\nwho a\0b\r\nend\r\n", 38, &r,
	              &err),
	    0);
	CHECK(r.complete);
	CHECK(r.suspect);
	scanparse_free(&r);
}

/* A second "me" record is malformed, whatever it holds.  With uid "-" the first one left
 * the uid unknown, and the second used to overwrite (and leak) the first's user name:
 * fuzz_scanparse found it, tests/fuzz/corpus/fuzz_scanparse/leak-me-twice.  Under ASan
 * (`make asan`) the leak fails this test. */
static void
me_twice(void)
{
	struct scan_result r;
	static const char text[] = "moshman-scan 1\nme - 727f6f74\nos Linux\n"
	                           "me - 616461\nme 5 616461\nend\n";

	CHECK_INT(parse_text(text, &r), 0);
	CHECK(r.complete);
	CHECK(r.suspect);
	CHECK_INT(r.uid, -1);
	CHECK_STR(r.user, "r\\x7fot");
	CHECK(r.nwarnings >= 2);
	CHECK_HAS(r.nwarnings >= 1 ? r.warnings[0] : NULL, "malformed record 'me'");
	scanparse_free(&r);
}

/* argv with a newline and a forged record in it stays one hex field. */
static const char hostile_ps[] =
    "moshman-scan 1\n"
    "me 1000 616461\n"
    "mode ps\n"
    /* A process whose argv is "sh\nproc 7 1 1000 s:x 99:00 - 6d6f73682d736572766572 ..."
     * arrives hex-encoded; nothing in it can start a line. */
    "proc 300 1 1000 s:Mon_Jan_1_00:00:00_2026 10:00 - 7368 "
    "73680a70726f632037203120313030302073"
    "3a7820393a3030202d20366436663733\n"
    /* The same pid twice (a forged discovery line in ps mode would do this). */
    "proc 400 1 1000 s:a 10:00 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
    "proc 400 1 1000 s:b 10:00 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
    /* Escape sequences in a command line are made harmless. */
    "proc 500 1 1000 s:c 10:00 - 6d6f73682d736572766572 6d6f73682d736572766572201b5d30\n"
    "end\n";

static void
hostile_processes(void)
{
	struct scan_result r;
	const struct scan_server *s;

	CHECK_INT(parse_text(hostile_ps, &r), 0);
	CHECK(r.complete);
	CHECK_INT(r.nservers, 2);
	CHECK(scanparse_find(&r, 7) == NULL);
	CHECK(scanparse_find(&r, 300) == NULL);
	CHECK(r.nwarnings >= 1);
	CHECK_HAS(r.nwarnings >= 1 ? r.warnings[0] : NULL, "sh\\x0aproc 7");
	s = scanparse_find(&r, 400);
	CHECK(s != NULL && s->tainted);
	s = scanparse_find(&r, 500);
	CHECK(s != NULL && s->is_mosh);
	CHECK_STR(s != NULL ? s->cmdline : NULL, "mosh-server \\x1b]0");
	scanparse_free(&r);
}

static void
who_lines(void)
{
	struct scan_who w;

	CHECK_INT(scanparse_who_line("ada      pts/3        2026-11-29 19:00 (mosh [25745])", &w),
	    1);
	CHECK_STR(w.user, "ada");
	CHECK_STR(w.tty, "pts/3");
	CHECK_INT(w.pid, 25745);
	CHECK_INT(w.state, SCAN_UTMP_DETACHED);
	CHECK_STR(w.host, "mosh [25745]");
	scanparse_who_free(&w);

	CHECK_INT(scanparse_who_line("ada pts/1 Nov 29 18:55 (2001:db8::7 via mosh [6239])", &w),
	    1);
	CHECK_INT(w.state, SCAN_UTMP_ATTACHED);
	CHECK_STR(w.host, "2001:db8::7 via mosh [6239]");
	scanparse_who_free(&w);

	/* BusyBox: no parentheses, idle column. */
	CHECK_INT(scanparse_who_line("root            pts/1           00:04   Nov 29 "
	                             "18:55:46  127.0.0.1 via mosh [6239]",
	              &w),
	    1);
	CHECK_INT(w.state, SCAN_UTMP_ATTACHED);
	CHECK_INT(w.pid, 6239);
	CHECK_STR(w.host, "127.0.0.1 via mosh [6239]");
	scanparse_who_free(&w);
	CHECK_INT(scanparse_who_line("root   pts/0   00:00   Nov 29 19:00:15  mosh [11228]", &w),
	    1);
	CHECK_INT(w.state, SCAN_UTMP_DETACHED);
	scanparse_who_free(&w);

	/* Not marks. */
	CHECK_INT(scanparse_who_line("root     pts/2        Nov 29 18:55 (tmux(6248).%0)", &w), 0);
	CHECK_INT(scanparse_who_line("root     tty1         Nov 29 18:55", &w), 0);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (evil mosh [6239])", &w), 0);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (a b via mosh [6239])", &w), 0);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (mosh [6239]x)", &w), 0);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (mosh [0])", &w), 0);

	/* The first half of a line that a newline in the host field split. */
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (x", &w), -1);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 x)(", &w), -1);
	CHECK_INT(scanparse_who_line("eve pts/5 Nov 29 18:55 (\x1b[2J)", &w), -1);
}

static const char forged_who[] =
    "moshman-scan 1\n"
    "me 0 726f6f74\n"
    "proc 100 1 0 p:b:1 500 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
    "proc 200 1 0 p:b:2 500 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
    "child 100 101 pts/1\n"
    "child 200 201 pts/2\n"
    "who root     pts/1        Nov 29 18:55 (127.0.0.1 via mosh [100])\n"
    /* Another user claims 200 is detached. */
    "who eve      pts/2        Nov 29 18:55 (mosh [200])\n"
    "end\n";

static void
hostile_who(void)
{
	struct scan_result r;
	const struct scan_server *s;

	CHECK_INT(parse_text(forged_who, &r), 0);
	s = scanparse_find(&r, 200);
	CHECK(s != NULL && s->utmp == SCAN_UTMP_NONE && s->utmp_foreign);
	s = scanparse_find(&r, 100);
	CHECK(s != NULL && s->utmp == SCAN_UTMP_ATTACHED && !s->utmp_foreign);
	CHECK(!r.utmp_damaged);
	scanparse_free(&r);

	/* eve's host name "x\nroot pts/1 ... (mosh [100]" printed raw by who. */
	CHECK_INT(
	    parse_text("moshman-scan 1\nme 0 726f6f74\n"
	               "proc 100 1 0 p:b:1 500 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
	               "child 100 101 pts/1\n"
	               "who root     pts/1        Nov 29 18:55 (127.0.0.1 via mosh [100])\n"
	               "who eve      pts/5        Nov 29 18:55 (x\n"
	               "who root pts/1 Nov 29 18:55 (mosh [100])\n"
	               "end\n",
	        &r),
	    0);
	CHECK(r.utmp_damaged);
	s = scanparse_find(&r, 100);
	CHECK(s != NULL && s->utmp_marks == 2);
	scanparse_free(&r);
}

static void
ss_lines(void)
{
	long pids[4];
	size_t n;
	int port;

	CHECK_INT(scanparse_ss_line("UNCONN 0 0 127.0.0.1:41014 0.0.0.0:* "
	                            "users:((\"mosh-server\",pid=6239,fd=4))",
	              &port, pids, 4, &n),
	    0);
	CHECK_INT(port, 41014);
	CHECK_INT(n, 1);
	CHECK_INT(pids[0], 6239);
	CHECK_INT(
	    scanparse_ss_line("UNCONN 0 0 [::]:60001 [::]:* "
	                      "users:((\"mosh-server\",pid=7,fd=4),(\"mosh-server\",pid=6,fd=4))",
	        &port, pids, 4, &n),
	    0);
	CHECK_INT(port, 60001);
	CHECK_INT(n, 2);
	/* A process named to look like an extra entry breaks the grammar. */
	CHECK_INT(scanparse_ss_line("UNCONN 0 0 127.0.0.1:5000 0.0.0.0:* "
	                            "users:((\"a\",pid=6239,fd\",pid=9,fd=4))",
	              &port, pids, 4, &n),
	    -1);
	CHECK_INT(scanparse_ss_line("UNCONN 0 0 127.0.0.1:5000 0.0.0.0:* "
	                            "users:((\"other\",pid=9,fd=4))",
	              &port, pids, 4, &n),
	    0);
	CHECK_INT(n, 0);
	CHECK_INT(scanparse_ss_line("garbage", &port, pids, 4, &n), -1);
}

static void
netstat_procnet_lines(void)
{
	long pid;
	int port;
	unsigned long inode;

	CHECK_INT(scanparse_netstat_line("udp        0      0 127.0.0.1:41014         "
	                                 "0.0.0.0:*                           6239/mosh-server    ",
	              &port, &pid),
	    0);
	CHECK_INT(port, 41014);
	CHECK_INT(pid, 6239);
	CHECK_INT(scanparse_netstat_line("udp6 0 0 :::60001 :::* 12/mosh-server", &port, &pid), 0);
	CHECK_INT(port, 60001);
	CHECK_INT(scanparse_netstat_line("udp 0 0 0.0.0.0:68 0.0.0.0:* 12/dhclient", &port, &pid),
	    -1);
	CHECK_INT(scanparse_netstat_line("udp 0 0 0.0.0.0:68 0.0.0.0:* -", &port, &pid), -1);
	CHECK_INT(
	    scanparse_procnet_line(" 6607: 0100007F:A036 00000000:0000 07 "
	                           "00000000:00000000 00:00000000 00000000     0        0 12137 2 "
	                           "0000000078f13e09 0",
	        &port, &inode),
	    0);
	CHECK_INT(port, 0xA036);
	CHECK_INT(inode, 12137);
	CHECK_INT(scanparse_procnet_line("  sl  local_address rem_address   st tx_queue "
	                                 "rx_queue tr tm->when retrnsmt   uid  timeout inode",
	              &port, &inode),
	    -1);
}

static void
etime(void)
{
	CHECK_INT(scanparse_etime("05"), 5);
	CHECK_INT(scanparse_etime("00:07"), 7);
	CHECK_INT(scanparse_etime("01:12"), 72);
	CHECK_INT(scanparse_etime("1:02:03"), 3723);
	CHECK_INT(scanparse_etime("2-03:04:05"), 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
	CHECK_INT(scanparse_etime("2-04:05"), -1);
	CHECK_INT(scanparse_etime("1:2:3:4"), -1);
	CHECK_INT(scanparse_etime("-1"), -1);
	CHECK_INT(scanparse_etime("12:345"), -1);
	CHECK_INT(scanparse_etime(""), -1);
}

static void
kill_args(void)
{
	struct scan_kill_req ok[] = { { 123, "p:6ff3-aa:105681" }, { 45, "s:Sun_Nov_29" } };
	struct scan_kill_req bad[] = { { 123, "p:x;rm -rf /" } };
	struct scan_kill_req nostart[] = { { 123, NULL } };
	struct scan_kill_req init[] = { { 1, "p:b:1" } };
	char *out = NULL, *err = NULL;

	CHECK_INT(scanparse_kill_args(ok, 2, 0, 0, &out, &err), 0);
	CHECK_STR(out, "-s TERM 123:p:6ff3-aa:105681 45:s:Sun_Nov_29");
	free(out);
	CHECK_INT(scanparse_kill_args(ok, 1, 1, 1, &out, &err), 0);
	CHECK_STR(out, "-s USR1 -f 123:p:6ff3-aa:105681");
	free(out);
	CHECK_INT(scanparse_kill_args(bad, 1, 0, 0, &out, &err), -1);
	CHECK(out == NULL);
	CHECK_HAS(err, "123");
	free(err);
	CHECK_INT(scanparse_kill_args(nostart, 1, 0, 0, &out, &err), -1);
	free(err);
	CHECK_INT(scanparse_kill_args(init, 1, 0, 0, &out, &err), -1);
	free(err);
	CHECK_INT(scanparse_kill_args(ok, 0, 0, 0, &out, &err), -1);
	free(err);
}

static void
kill_output(void)
{
	static const char good[] = "moshman-kill 1\nme 1000\n"
	                           "kill 11228 exited TERM 1\nkill 11229 start-changed - 0\n"
	                           "kill 11230 killed TERM,KILL 10\nkill 11231 alive USR1 10\n"
	                           "kill 11232 gone - 0\nend\n";
	struct scan_kill_result r;
	char *err = NULL;
	size_t cut, bad = 0;

	CHECK_INT(scanparse_kill(good, strlen(good), &r, &err), 0);
	CHECK(r.complete);
	CHECK_INT(r.uid, 1000);
	CHECK_INT(r.nreports, 5);
	CHECK_INT(r.reports[0].pid, 11228);
	CHECK_INT(r.reports[0].status, SCAN_KILL_EXITED);
	CHECK_STR(r.reports[0].signals, "TERM");
	CHECK_INT(r.reports[1].status, SCAN_KILL_START_CHANGED);
	CHECK_STR(r.reports[1].signals, "");
	CHECK_INT(r.reports[2].status, SCAN_KILL_KILLED);
	CHECK_INT(r.reports[2].waited, 10);
	CHECK_INT(r.reports[3].status, SCAN_KILL_ALIVE);
	CHECK(scanparse_kill_gone(r.reports[0].status));
	CHECK(scanparse_kill_gone(r.reports[1].status));
	CHECK(!scanparse_kill_gone(r.reports[3].status));
	CHECK_STR(scanparse_kill_status_name(r.reports[1].status), "start-changed");
	scanparse_kill_free(&r);

	for (cut = 0; cut < strlen(good); cut++) {
		if (scanparse_kill(good, cut, &r, &err) == 0 && r.complete)
			bad++;
		free(err);
		err = NULL;
		scanparse_kill_free(&r);
	}
	CHECK_INT(bad, 0);

	CHECK_INT(scanparse_kill("moshman-kill 1\nkill 5 vanished - 0\nend\n", 38, &r, &err), 0);
	CHECK(!r.complete);
	scanparse_kill_free(&r);
	CHECK_INT(scanparse_kill("sh: not found\n", 14, &r, &err), -1);
	CHECK_HAS(err, "no output");
	free(err);
	scanparse_kill_free(&r);
}

/* The binary carries the scripts exactly as they are in src/. */
static void
embedded(void)
{
	const char *top = getenv("MOSHMAN_TOP");
	char path[4096], *text;
	size_t len;

	snprintf(path, sizeof path, "%s/src/scan/scan_collect.sh", top ? top : ".");
	text = slurp(path, &len);
	CHECK(text != NULL);
	CHECK_STR(scanparse_collect_script(), text);
	CHECK_HAS(scanparse_collect_script(), "\necho \"end\"\n");
	free(text);
	snprintf(path, sizeof path, "%s/src/scan/scan_kill.sh", top ? top : ".");
	text = slurp(path, &len);
	CHECK(text != NULL);
	CHECK_STR(scanparse_kill_script(), text);
	free(text);
}

/* ---- helper modes for the e2e script ------------------------------------------------ */

static int
cli_parse(int argc, char **argv)
{
	struct scan_result r;
	struct scan_known *known = NULL;
	struct scan_verdict *v = NULL;
	size_t len, nk = 0, nv, i, j;
	char *buf, *err = NULL;
	int a;

	if ((buf = slurp(argv[2], &len)) == NULL) {
		fprintf(stderr, "cannot read %s\n", argv[2]);
		return 2;
	}
	known = xcalloc((size_t)argc, sizeof *known);
	for (a = 3; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--known") != 0 ||
		    sscanf(argv[a + 1], "%ld:%d:%ld:%d", &known[nk].session_id,
		        &known[nk].mosh_port, &known[nk].server_pid, &known[nk].live) != 4) {
			fprintf(stderr, "bad argument %s\n", argv[a]);
			return 2;
		}
		nk++;
	}
	if (scanparse_collect(buf, len, &r, &err) != 0) {
		printf("error %s\n", err);
		return 1;
	}
	printf("result complete=%d suspect=%d mode=%s ports=%s missing=", r.complete, r.suspect,
	    r.mode ? r.mode : "-", r.ports_from ? r.ports_from : "-");
	for (i = 0; i < r.nmissing; i++)
		printf("%s%s", i ? "," : "", r.missing[i]);
	printf("\n");
	for (i = 0; i < r.nwarnings; i++)
		printf("warning %s\n", r.warnings[i]);
	scanclass_classify(&r, known, nk, time(NULL), &v, &nv);
	for (i = 0; i < nv; i++) {
		const struct scan_server *s = &r.servers[i];

		printf("server %ld class=%s kill=%d kill_detached=%d start=%s port=", s->pid,
		    scanclass_name(v[i].class), v[i].kill_default, v[i].kill_detached,
		    s->start ? s->start : "-");
		for (j = 0; j < s->nports; j++)
			printf("%s%d", j ? "," : "", s->ports[j]);
		printf(" age=%ld why=%s\n", v[i].age, v[i].why);
	}
	scanclass_free(v, nv);
	scanparse_free(&r);
	free(known);
	free(buf);
	return 0;
}

static int
cli_kill(const char *path)
{
	struct scan_kill_result r;
	size_t len, i;
	char *buf, *err = NULL;

	if ((buf = slurp(path, &len)) == NULL)
		return 2;
	if (scanparse_kill(buf, len, &r, &err) != 0) {
		printf("error %s\n", err);
		return 1;
	}
	printf("kill-result complete=%d\n", r.complete);
	for (i = 0; i < r.nreports; i++) {
		printf("pid %ld %s signals=%s waited=%d gone=%d\n", r.reports[i].pid,
		    scanparse_kill_status_name(r.reports[i].status),
		    r.reports[i].signals[0] ? r.reports[i].signals : "-", r.reports[i].waited,
		    scanparse_kill_gone(r.reports[i].status));
	}
	scanparse_kill_free(&r);
	free(buf);
	return 0;
}

static int
cli_kill_args(int argc, char **argv)
{
	struct scan_kill_req *reqs;
	char *out = NULL, *err = NULL, *colon;
	int i, n = argc - 4;

	if (n < 0)
		return 2;
	reqs = xcalloc((size_t)n + 1, sizeof *reqs);
	for (i = 0; i < n; i++) {
		reqs[i].pid = strtol(argv[4 + i], &colon, 10);
		reqs[i].start = *colon == ':' ? colon + 1 : NULL;
	}
	if (scanparse_kill_args(reqs, (size_t)n, strcmp(argv[2], "USR1") == 0,
	        strcmp(argv[3], "1") == 0, &out, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s\n", out);
	free(out);
	free(reqs);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--parse") == 0)
		return cli_parse(argc, argv);
	if (argc == 3 && strcmp(argv[1], "--kill") == 0)
		return cli_kill(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "--kill-args") == 0)
		return cli_kill_args(argc, argv);

	UNIT_BEGIN("test_scanparse");
	RUN(linux_ss);
	RUN(linux_netstat);
	RUN(linux_procfd);
	RUN(busybox);
	RUN(linux_ps);
	RUN(macos_like);
	RUN(truncated);
	RUN(header_and_trailer);
	RUN(me_twice);
	RUN(hostile_processes);
	RUN(who_lines);
	RUN(hostile_who);
	RUN(ss_lines);
	RUN(netstat_procnet_lines);
	RUN(etime);
	RUN(kill_args);
	RUN(kill_output);
	RUN(embedded);
	UNIT_END();
}
